// Option layering of `repotokensd serve`: flag > REPOTOKENS_* environment > TOML file > default, and
// bad values refused with exit status 2 wherever they come from.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "server/config.h"
#include "server/json_io.h"

namespace rt::server {
namespace {

std::optional<int> parse(std::vector<std::string> args, Invocation& out) {
  args.insert(args.begin(), "repotokensd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_command_line(static_cast<int>(argv.size()), argv.data(), out);
}

class ServerConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    // One file per test: ctest runs the tests of this fixture in parallel processes.
    path_ = ::testing::TempDir() + "/server_config_test." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
    std::ofstream(path_) << "rate_limit_per_token = 7\nrate_burst = 70\nlisten = \"127.0.0.1:9000\"\n"
                            "log_format = \"json\"\n";
  }
  void TearDown() override {
    unsetenv("REPOTOKENS_RATE_BURST");
    unsetenv("REPOTOKENS_THREADS");
    unsetenv("REPOTOKENS_RATELIMIT");
    std::remove(path_.c_str());
  }
  std::string path_;
};

TEST_F(ServerConfig, DefaultsApply) {
  Invocation inv;
  ASSERT_FALSE(parse({"serve"}, inv));
  EXPECT_EQ(inv.serve.db, "sqlite:./repotokens.db");
  EXPECT_EQ(inv.serve.listen_port, 8080);
  EXPECT_EQ(inv.serve.rate_burst, 1000);
  EXPECT_EQ(inv.serve.throttle_status, 429);
  EXPECT_EQ(inv.serve.max_body, 1048576u);
}

TEST_F(ServerConfig, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  setenv("REPOTOKENS_RATE_BURST", "80", 1);
  Invocation inv;
  ASSERT_FALSE(parse({"serve", "--config", path_, "--listen", "127.0.0.1:0"}, inv));
  EXPECT_EQ(inv.serve.listen_port, 0);             // flag over file
  EXPECT_EQ(inv.serve.rate_burst, 80);             // environment over file
  EXPECT_DOUBLE_EQ(inv.serve.rate_limit_per_token, 7);  // file over default
  EXPECT_TRUE(inv.serve.log_json);
  EXPECT_EQ(inv.serve.store_threads, 64);          // default
  EXPECT_EQ(inv.serve.db_connections, 8);          // default
}

TEST_F(ServerConfig, BadValuesExitTwoFromAnySource) {
  Invocation inv;
  EXPECT_EQ(parse({"serve", "--threads", "abc"}, inv), 2);
  EXPECT_EQ(parse({"serve", "--throttle-status", "500"}, inv), 2);
  EXPECT_EQ(parse({"serve", "--listen", "nohostport"}, inv), 2);
  EXPECT_EQ(parse({"serve", "--no-such-option"}, inv), 2);
  setenv("REPOTOKENS_THREADS", "0", 1);
  EXPECT_EQ(parse({"serve"}, inv), 2);
  std::ofstream(path_) << "unknown_key = 1\n";
  unsetenv("REPOTOKENS_THREADS");
  EXPECT_EQ(parse({"serve", "--config", path_}, inv), 2);
}

TEST_F(ServerConfig, ExpiryNoticeWindowsAreDurationsLongestFirst) {
  Invocation inv;
  ASSERT_FALSE(parse({"serve"}, inv));
  EXPECT_EQ(inv.serve.webhook_expiry_notices, (std::vector<std::int64_t>{7 * 86400, 86400}));
  EXPECT_EQ(inv.serve.webhook_expiry_scan_interval, 60);
  ASSERT_FALSE(parse({"serve", "--webhook-expiry-notices", "14d,36h,90m,30s", "--webhook-expiry-scan-interval", "0.5"},
                     inv));
  EXPECT_EQ(inv.serve.webhook_expiry_notices, (std::vector<std::int64_t>{14 * 86400, 36 * 3600, 90 * 60, 30}));
  EXPECT_EQ(inv.serve.webhook_expiry_scan_interval, 0.5);
  ASSERT_FALSE(parse({"serve", "--webhook-expiry-notices", ""}, inv));
  EXPECT_TRUE(inv.serve.webhook_expiry_notices.empty()) << "token.expired only";
  for (const char* bad : {"1d,7d", "1d,24h", "d", "7", "7w", "0s", "-1d", "7d,", "366d", "1.5d"})
    EXPECT_EQ(parse({"serve", "--webhook-expiry-notices", bad}, inv), 2) << bad;
  EXPECT_EQ(parse({"serve", "--webhook-expiry-scan-interval", "0"}, inv), 2);
}

TEST_F(ServerConfig, AdminCreateUser) {
  Invocation inv;
  ASSERT_FALSE(parse({"admin", "create-user", "--db", "sqlite:x.db", "--name", "root", "--instance-admin"}, inv));
  EXPECT_EQ(inv.command, Command::create_user);
  EXPECT_EQ(inv.admin.name, "root");
  EXPECT_TRUE(inv.admin.instance_admin);
  EXPECT_FALSE(inv.admin.email);
  EXPECT_EQ(parse({"admin", "create-user", "--db", "sqlite:x.db"}, inv), 2);  // --name is required
}

TEST_F(ServerConfig, RateLimitStoreIsLocalByDefaultOrRedisFromAnySource) {
  Invocation inv;
  ASSERT_FALSE(parse({"serve"}, inv));
  EXPECT_EQ(inv.serve.ratelimit, "local");
  EXPECT_TRUE(inv.serve.ratelimit_fail_open);

  ASSERT_FALSE(parse({"serve", "--ratelimit", "redis://10.0.0.5:6380/2", "--ratelimit-failure", "closed"}, inv));
  EXPECT_EQ(inv.serve.ratelimit, "redis://10.0.0.5:6380/2");
  EXPECT_FALSE(inv.serve.ratelimit_fail_open);

  setenv("REPOTOKENS_RATELIMIT", "redis://cache.internal", 1);
  ASSERT_FALSE(parse({"serve"}, inv));
  EXPECT_EQ(inv.serve.ratelimit, "redis://cache.internal");
  unsetenv("REPOTOKENS_RATELIMIT");

  std::ofstream(path_) << "ratelimit = \"redis://127.0.0.1:6379\"\nratelimit_failure = \"closed\"\n";
  ASSERT_FALSE(parse({"serve", "--config", path_}, inv));
  EXPECT_EQ(inv.serve.ratelimit, "redis://127.0.0.1:6379");
  EXPECT_FALSE(inv.serve.ratelimit_fail_open);
}

TEST_F(ServerConfig, MalformedRateLimitUrlIsAUsageErrorNamingTheForm) {
  Invocation inv;
  for (const char* bad : {"memcached://h:1", "redis://", "redis://h:notaport", "redis://h:6379/x", "Local"}) {
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(parse({"serve", "--ratelimit", bad}, inv), 2) << bad;
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("--ratelimit"), std::string::npos) << err;
    EXPECT_NE(err.find("redis://[:PASSWORD@]HOST[:PORT][/DB]"), std::string::npos) << err;
  }
  // The message shows the URL but never a password in it.
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(parse({"serve", "--ratelimit", "redis://:hunter2@h:port"}, inv), 2);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
  EXPECT_NE(err.find("redis://****@h:port"), std::string::npos) << err;

  ::testing::internal::CaptureStderr();
  EXPECT_EQ(parse({"serve", "--ratelimit-failure", "maybe"}, inv), 2);
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("invalid --ratelimit-failure 'maybe': expected open or closed"), std::string::npos) << err;
}

TEST(ServerQuery, DecodesValuesAndFindsKeys) {
  EXPECT_EQ(query_param("limit=5&search=a%20b+c", "search"), "a b c");
  EXPECT_EQ(query_param("limit=5&search=x", "limit"), "5");
  EXPECT_EQ(query_param("limit=5", "cursor"), std::nullopt);
  EXPECT_EQ(query_param("flag&x=1", "flag"), "");
}

}  // namespace
}  // namespace rt::server

namespace rt::server {
namespace {

// Secretless CI's issuer allowlist: --ci-issuer repeats; the environment and the file list several
// (comma-separated, or a TOML array); an issuer that is not https (or http on loopback) is refused.
TEST(ServerConfigCi, IssuersComeFromRepeatedFlagsTheEnvironmentOrATomlArray) {
  Invocation inv;
  ASSERT_FALSE(parse({"serve", "--ci-issuer", "https://token.actions.githubusercontent.com", "--ci-issuer",
                      "gitlab=http://127.0.0.1:9000", "--ci-audience", "https://rt.example"},
                     inv));
  EXPECT_EQ(inv.serve.ci_issuers,
            (std::vector<std::string>{"https://token.actions.githubusercontent.com", "gitlab=http://127.0.0.1:9000"}));
  EXPECT_EQ(inv.serve.ci_audience, "https://rt.example");
  EXPECT_EQ(inv.serve.ci_key_refetch_seconds, 60);

  setenv("REPOTOKENS_CI_ISSUER", "https://gitlab.com, https://ghe.example/_services/token", 1);
  Invocation from_env;
  ASSERT_FALSE(parse({"serve"}, from_env));
  unsetenv("REPOTOKENS_CI_ISSUER");
  EXPECT_EQ(from_env.serve.ci_issuers,
            (std::vector<std::string>{"https://gitlab.com", "https://ghe.example/_services/token"}));

  const std::string path = ::testing::TempDir() + "/server_config_ci.toml";
  std::ofstream(path) << "ci_issuer = [\"https://gitlab.com\", \"https://token.actions.githubusercontent.com\"]\n";
  Invocation from_file;
  ASSERT_FALSE(parse({"serve", "--config", path}, from_file));
  EXPECT_EQ(from_file.serve.ci_issuers.size(), 2u);
  std::remove(path.c_str());

  Invocation bad;
  EXPECT_EQ(parse({"serve", "--ci-issuer", "http://gitlab.example.com"}, bad), 2);
  EXPECT_EQ(parse({"serve", "--ci-key-refetch-seconds", "0"}, bad), 2);
}

TEST(ServerConfigOutbound, TheGitHubKeyURLAndTheCaFileComeFromFlagsTheEnvironmentOrTheFile) {
  const std::string ca = ::testing::TempDir() + "/server_config_outbound_ca.pem";
  std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  Invocation inv;
  ASSERT_FALSE(parse({"serve", "--github-secret-scanning-keys", "https://api.github.com/meta/public_keys/secret_scanning",
                      "--outbound-ca-file", ca, "--github-secret-scanning-refetch-seconds", "3"},
                     inv));
  EXPECT_EQ(inv.serve.github_secret_scanning_keys, "https://api.github.com/meta/public_keys/secret_scanning");
  EXPECT_EQ(inv.serve.outbound_ca_file, ca);
  EXPECT_EQ(inv.serve.github_secret_scanning_refetch_seconds, 3);

  setenv("REPOTOKENS_OUTBOUND_CA_FILE", ca.c_str(), 1);
  setenv("REPOTOKENS_GITHUB_SECRET_SCANNING_KEYS", "http://127.0.0.1:9/keys", 1);
  Invocation from_env;
  ASSERT_FALSE(parse({"serve"}, from_env));
  unsetenv("REPOTOKENS_OUTBOUND_CA_FILE");
  unsetenv("REPOTOKENS_GITHUB_SECRET_SCANNING_KEYS");
  EXPECT_EQ(from_env.serve.outbound_ca_file, ca);
  EXPECT_EQ(from_env.serve.github_secret_scanning_keys, "http://127.0.0.1:9/keys");
  EXPECT_EQ(from_env.serve.github_secret_scanning_refetch_seconds, 10);

  const std::string path = ::testing::TempDir() + "/server_config_outbound.toml";
  std::ofstream(path) << "outbound_ca_file = \"" << ca << "\"\ngithub_secret_scanning_keys = \"/etc/keys.json\"\n";
  Invocation from_file;
  ASSERT_FALSE(parse({"serve", "--config", path}, from_file));
  EXPECT_EQ(from_file.serve.outbound_ca_file, ca);
  EXPECT_EQ(from_file.serve.github_secret_scanning_keys, "/etc/keys.json");
  std::remove(path.c_str());

  Invocation bad;
  EXPECT_EQ(parse({"serve", "--github-secret-scanning-keys", "http://api.github.com/keys"}, bad), 2);
  EXPECT_EQ(parse({"serve", "--github-secret-scanning-keys", "gopher://x/keys"}, bad), 2);
  EXPECT_EQ(parse({"serve", "--outbound-ca-file", ca + ".missing"}, bad), 2);
  EXPECT_EQ(parse({"serve", "--github-secret-scanning-refetch-seconds", "0"}, bad), 2);
  std::remove(ca.c_str());
}

}  // namespace
}  // namespace rt::server
