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

TEST_F(Settings, ApiUrlWithOrWithoutApiV3) {
  GlobalOptions o;
  for (const char* given : {"http://127.0.0.1:9", "http://127.0.0.1:9/", "http://127.0.0.1:9/api/v3",
                            "http://127.0.0.1:9/api/v3/", "http://127.0.0.1:9//api/v3//"}) {
    o.api_url = given;
    auto t = resolve_target(o, false);
    ASSERT_TRUE(t.ok()) << given << ": " << t.error().message;
    EXPECT_EQ(t->connection.api_url, "http://127.0.0.1:9") << given;
  }
  o.api_url = "https://codacy.example.com/prefix/api/v3";
  EXPECT_EQ(resolve_target(o, false)->connection.api_url, "https://codacy.example.com/prefix");
  ::setenv("CODACY_API_BASE_URL", "https://app.codacy.com/api/v3", 1);
  o.api_url = "";
  EXPECT_EQ(resolve_target(o, false)->connection.api_url, "https://app.codacy.com");
  for (const char* bad : {"app.codacy.com", "http://", "https:///api/v3", "http://host/ x"}) {
    o.api_url = bad;
    auto t = resolve_target(o, false);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.error().message.find("--api-url"), std::string::npos) << t.error().message;
  }
}

TEST_F(Settings, TimeoutsHaveSecondsDefaultsAndNeedUnits) {
  GlobalOptions o;
  auto t = resolve_target(o, false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->connection.connect_timeout_ms, 5000);
  EXPECT_EQ(t->connection.request_timeout_ms, 30000);
  o.connect_timeout = "750ms";
  o.timeout = "2m";
  t = resolve_target(o, false);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->connection.connect_timeout_ms, 750);
  EXPECT_EQ(t->connection.request_timeout_ms, 120000);
  o.timeout = "30";
  auto bad = resolve_target(o, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--timeout"), std::string::npos);
}

TEST_F(Settings, ConfigTyposAreRefusedWithFileLineAndSuggestion) {
  GlobalOptions o;
  o.config_file = (dir.path() / "typo.toml").string();
  std::ofstream(o.config_file) << "default_profile = \"local\"\n"
                                  "[profiles.local]\n"
                                  "api_url = \"http://127.0.0.1:9\"\n"
                                  "orgg = \"acme\"\n";
  auto t = resolve_target(o, false);
  ASSERT_FALSE(t.ok());
  const std::string& m = t.error().message;
  EXPECT_NE(m.find(o.config_file + " line 4"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown key 'orgg'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'org'?"), std::string::npos) << m;

  std::ofstream(o.config_file) << "default_profil = \"local\"\n";
  auto top = resolve_target(o, false);
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.error().message.find("line 1"), std::string::npos) << top.error().message;
  EXPECT_NE(top.error().message.find("did you mean 'default_profile'?"), std::string::npos) << top.error().message;

  std::ofstream(o.config_file) << "[profiles.local]\nretries = \"ten\"\n";
  auto typed = resolve_target(o, false);
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(typed.error().message.find("retries must be a whole number"), std::string::npos) << typed.error().message;

  std::ofstream(o.config_file) << "[profiles.default]\ntimeout = \"3s\"\nconnect_timeout = \"1s\"\nretries = 3\n";
  auto good = resolve_target(o, false);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->connection.request_timeout_ms, 3000);
  EXPECT_EQ(good->connection.connect_timeout_ms, 1000);
  EXPECT_EQ(good->connection.max_attempts, 3);
}

}  // namespace rt::cli
