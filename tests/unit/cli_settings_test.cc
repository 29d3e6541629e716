// Connection settings: flag > environment > config-file profile > default, the token file, and usage errors
// that name the option.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "cli/settings.h"
#include "support/server_process.h"

namespace rt::cli {
namespace {

class Settings : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"CODACY_API_BASE_URL", "CODACY_API_TOKEN", "REPOTOKENS_PROVIDER", "REPOTOKENS_ORG",
                          "REPOTOKENS_CONFIG", "REPOTOKENS_PROFILE"})
      ::unsetenv(v);
    ::setenv("XDG_CONFIG_HOME", dir.path().c_str(), 1);
    config = (dir.path() / "c.toml").string();
    std::ofstream(dir.path() / "tok") << "rtka_fromfile\n";
    std::ofstream(config) << "default_profile = \"local\"\n"
                             "[profiles.local]\napi_url = \"http://127.0.0.1:9/\"\napi_token = \"rtka_local\"\n"
                             "provider = \"gh\"\norg = \"acme\"\n"
                             "[profiles.cloud]\napi_token_file = \"" + (dir.path() / "tok").string() + "\"\n"
                             "provider = \"gl\"\norg = \"big\"\n";
  }
  test::TempDir dir;
  std::string config;
};

}  // namespace

TEST_F(Settings, DefaultsWithoutAnyConfiguration) {
  GlobalOptions o;
  auto t = resolve_target(o, false);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->connection.api_url, "https://app.codacy.com");
  EXPECT_TRUE(t->connection.api_token.empty());
  auto need = resolve_target(o, true);
  ASSERT_FALSE(need.ok());
  EXPECT_NE(need.error().message.find("--provider"), std::string::npos);
}

TEST_F(Settings, ProfileThenEnvironmentThenFlag) {
  GlobalOptions o;
  o.config_file = config;
  auto t = resolve_target(o, true);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->connection.api_url, "http://127.0.0.1:9");  // trailing slash dropped
  EXPECT_EQ(t->connection.api_token, "rtka_local");
  EXPECT_EQ(t->provider, "gh");
  ::setenv("CODACY_API_TOKEN", "rtka_env", 1);
  ::setenv("REPOTOKENS_ORG", "envorg", 1);
  t = resolve_target(o, true);
  EXPECT_EQ(t->connection.api_token, "rtka_env");
  EXPECT_EQ(t->org, "envorg");
  o.api_token = "rtka_flag";
  o.org = "flagorg";
  t = resolve_target(o, true);
  EXPECT_EQ(t->connection.api_token, "rtka_flag");
  EXPECT_EQ(t->org, "flagorg");
}

TEST_F(Settings, NamedProfileWithTokenFile) {
  GlobalOptions o;
  o.config_file = config;
  o.profile = "cloud";
  auto t = resolve_target(o, true);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->connection.api_token, "rtka_fromfile");
  EXPECT_EQ(t->provider, "gl");
  EXPECT_EQ(t->connection.api_url, "https://app.codacy.com");
  o.profile = "nope";
  auto missing = resolve_target(o, true);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("--profile"), std::string::npos);
}

TEST_F(Settings, BadValuesNameTheOption) {
  GlobalOptions o;
  o.provider = "svn";
  o.org = "x";
  EXPECT_NE(resolve_target(o, true).error().message.find("--provider"), std::string::npos);
  o.provider = "gh";
  o.api_url = "ftp://x";
  EXPECT_NE(resolve_target(o, true).error().message.find("--api-url"), std::string::npos);
  o.api_url = "";
  o.api_token_file = (dir.path() / "missing").string();
  EXPECT_NE(resolve_target(o, true).error().message.find("--api-token-file"), std::string::npos);
  o.api_token_file = "";
  o.config_file = (dir.path() / "broken.toml").string();
  std::ofstream(o.config_file) << "this is = = not toml\n";
  EXPECT_NE(resolve_target(o, true).error().message.find("--config"), std::string::npos);
}

}  // namespace rt::cli
