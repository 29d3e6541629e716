// The CLI as a new user meets it, against a real repotokensd: "did you mean" for a command and a flag,
// `help`, value names and examples in a command's help, a rate without its unit, a typo in the config file,
// the base URL with /api/v3, one JSON style, exit 4 for a refused credential, a server that is down or
// silent reported within the timeout, and retries that say why in the progress line and the summary.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "support/cli_fixture.h"

namespace rt::test {
namespace {

using nlohmann::json;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A loopback socket bound to a port chosen by the kernel; listening (it completes TCP handshakes but never
// accepts or answers, like a hung server) or not (then closed at once: a port nothing listens on).
class LoopbackPort {
 public:
  explicit LoopbackPort(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      ADD_FAILURE() << "cannot bind a loopback port";
    port_ = ntohs(a.sin_port);
    if (listening) {
      ::listen(fd_, 16);
    } else {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~LoopbackPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST(CliUsability, DidYouMeanForACommandAndAFlag) {
  CliWorld w(2);
  auto command = w.cli({"provison", "--yes"});
  EXPECT_EQ(command.exit_code, 2) << command.err;
  EXPECT_TRUE(has(command.err, "error: unknown command \"provison\"; did you mean \"provision\"?")) << command.err;
  EXPECT_TRUE(has(command.err, "repotokens help")) << command.err;

  auto sub = w.cli({"tokens", "lsit", "--repo", "r-0000"});
  EXPECT_EQ(sub.exit_code, 2) << sub.err;
  EXPECT_TRUE(has(sub.err, "did you mean \"list\"?")) << sub.err;

  auto flag = w.cli({"provision", "--yes", "--dryrun"});
  EXPECT_EQ(flag.exit_code, 2) << flag.err;
  EXPECT_TRUE(has(flag.err, "unknown flag \"--dryrun\"")) << flag.err;
  EXPECT_TRUE(has(flag.err, "did you mean \"--dry-run\"?")) << flag.err;
  EXPECT_TRUE(has(flag.err, "run 'repotokens provision --help'")) << flag.err;

  // A usage error found after parsing points at the failing command's help too.
  auto missing = w.cli({"tokens", "revoke", "--repo", "r-0000"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_TRUE(has(missing.err, "run 'repotokens tokens revoke --help'")) << missing.err;
  EXPECT_EQ(w.stored_token_count(), 0);
}

TEST(CliUsability, HelpCommandAndHelpOfACommand) {
  auto top = run_command({REPOTOKENS_BIN, "help"});
  EXPECT_EQ(top.exit_code, 0) << top.err;
  for (const char* part : {"provision", "tokens", "expiring", "Exit status:", "4  authentication", "3  cancelled"})
    EXPECT_TRUE(has(top.out, part)) << part << "\n" << top.out;

  auto provision = run_command({REPOTOKENS_BIN, "help", "provision"});
  EXPECT_EQ(provision.exit_code, 0) << provision.err;
  for (const char* part : {"Usage: repotokens provision", "--rate RATE", "-o,--output FILE", "--overlap DURATION",
                           "--concurrency N", "Global options", "--provider CODE", "--org NAME", "--api-url URL",
                           "--timeout DURATION", "Examples:", "repotokens provision --provider gh --org acme"})
    EXPECT_TRUE(has(provision.out, part)) << part << "\n" << provision.out;
  EXPECT_FALSE(has(provision.out, "TEXT")) << provision.out;
  // The same text as --help gives.
  EXPECT_EQ(run_command({REPOTOKENS_BIN, "provision", "--help"}).out, provision.out);

  auto nested = run_command({REPOTOKENS_BIN, "help", "tokens", "list"});
  EXPECT_EQ(nested.exit_code, 0) << nested.err;
  EXPECT_TRUE(has(nested.out, "Usage: repotokens tokens list")) << nested.out;
  EXPECT_TRUE(has(nested.out, "--repo NAME")) << nested.out;

  auto unknown = run_command({REPOTOKENS_BIN, "help", "provison"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(has(unknown.err, "did you mean \"provision\"?")) << unknown.err;

  auto nothing = run_command({REPOTOKENS_BIN});
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_TRUE(has(nothing.err, "repotokens help")) << nothing.err;
  EXPECT_FALSE(has(nothing.err, "A subcommand is required")) << nothing.err;
}

TEST(CliUsability, RateWithoutAUnitIsRefused) {
  CliWorld w(2);
  auto r = w.cli({"provision", "--yes", "-o", (w.server->dir() / "t.csv").string(), "--rate", "50"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--rate: '50' has no unit")) << r.err;
  EXPECT_TRUE(has(r.err, "50/s")) << r.err;
  EXPECT_TRUE(has(r.err, "run 'repotokens provision --help'")) << r.err;
  EXPECT_EQ(w.stored_token_count(), 0);
  // The check can fail: with its unit the same rate is taken.
  auto ok = w.cli({"provision", "--yes", "-o", (w.server->dir() / "t.csv").string(), "--rate", "50/s"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(w.stored_token_count(), 2);
}

TEST(CliUsability, ConfigTypoIsRefusedNamingTheLineAndTheNearestKey) {
  CliWorld w(1);
  auto config = w.server->dir() / "config.toml";
  std::ofstream(config) << "default_profile = \"local\"\n\n"
                           "[profiles.local]\n"
                           "api_url = \"" << w.server->base_url() << "\"\n"
                           "providr = \"gh\"\n";
  auto r = run_command({REPOTOKENS_BIN, "repos", "list", "--config", config.string(), "--org", "acme"}, {}, w.cli_env());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has(r.err, config.string() + " line 5")) << r.err;
  EXPECT_TRUE(has(r.err, "unknown key 'providr' in [profiles.local]; did you mean 'provider'?")) << r.err;

  std::ofstream(config) << "default_profile = \"local\"\n\n"
                           "[profiles.local]\n"
                           "api_url = \"" << w.server->base_url() << "/api/v3/\"\n"
                           "provider = \"gh\"\n"
                           "timeout = \"10s\"\n";
  auto fixed = run_command({REPOTOKENS_BIN, "repos", "list", "--config", config.string(), "--org", "acme"}, {}, w.cli_env());
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_TRUE(has(fixed.out, "r-0000")) << fixed.out;
}

TEST(CliUsability, BaseUrlWithApiV3WorksAndAWrongUrlGetsATrueHint) {
  CliWorld w(3);
  const std::string base = w.server->base_url();
  const std::vector<std::string> env{"CODACY_API_TOKEN=" + w.world.admin.token,
                                     "XDG_STATE_HOME=" + (w.server->dir() / "state").string(),
                                     "XDG_CONFIG_HOME=" + (w.server->dir() / "config").string()};
  auto from_env = run_command({REPOTOKENS_BIN, "repos", "list", "--provider", "gh", "--org", "acme"}, {},
                              [&] { auto e = env; e.push_back("CODACY_API_BASE_URL=" + base + "/api/v3"); return e; }());
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
  EXPECT_TRUE(has(from_env.out, "r-0002")) << from_env.out;

  auto out = w.server->dir() / "t.csv";
  auto flag = run_command({REPOTOKENS_BIN, "provision", "--yes", "-o", out.string(), "--api-url", base + "/api/v3/",
                           "--provider", "gh", "--org", "acme"},
                          {}, env);
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
  EXPECT_EQ(parse_token_csv(file_bytes(out)).size(), 3u);

  auto wrong = run_command({REPOTOKENS_BIN, "repos", "list", "--api-url", base + "/codacy", "--provider", "gh", "--org",
                            "acme"},
                           {}, env);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.err;
  EXPECT_TRUE(has(wrong.err, "no Codacy API at " + base + "/codacy/api/v3")) << wrong.err;
  EXPECT_TRUE(has(wrong.err, "--api-url")) << wrong.err;
  EXPECT_FALSE(has(wrong.err, "is gh/acme right")) << wrong.err;

  // An organization that does not exist still gets the organization hint.
  auto org = run_command({REPOTOKENS_BIN, "repos", "list", "--api-url", base, "--provider", "gh", "--org", "nope"}, {}, env);
  EXPECT_EQ(org.exit_code, 1) << org.err;
  EXPECT_TRUE(has(org.err, "is gh/nope right")) << org.err;
}

TEST(CliUsability, OneJsonStyleCamelCaseAndNumericIds) {
  CliWorld w(2);
  auto made = w.cli({"tokens", "create", "--repo", "r-0001", "--name", "ci-one", "--expires", "1d"});
  ASSERT_EQ(made.exit_code, 0) << made.err;

  auto listed = w.cli({"tokens", "list", "--repo", "r-0001", "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json tokens = json::parse(listed.out);
  ASSERT_EQ(tokens.size(), 1u) << listed.out;
  EXPECT_TRUE(tokens[0]["id"].is_number_integer()) << listed.out;
  EXPECT_EQ(tokens[0]["name"], "ci-one");
  EXPECT_TRUE(tokens[0]["createdAt"].is_string()) << listed.out;
  EXPECT_TRUE(tokens[0]["expiresAt"].is_string()) << listed.out;
  EXPECT_FALSE(tokens[0].contains("lastUsedAt")) << "an absent value is left out: " << listed.out;
  for (const auto& [key, value] : tokens[0].items()) EXPECT_EQ(key.find('_'), std::string::npos) << key;

  auto csv = w.cli({"tokens", "list", "--repo", "r-0001", "--format", "csv"});
  EXPECT_TRUE(csv.out.starts_with("id,name,createdAt,expiresAt,lastUsedAt\n")) << csv.out;

  auto expiring = w.cli({"expiring", "--within", "2d", "--format", "json"});
  EXPECT_EQ(expiring.exit_code, 1) << expiring.err;  // one is expiring
  json soon = json::parse(expiring.out);
  ASSERT_EQ(soon.size(), 1u) << expiring.out;
  EXPECT_EQ(soon[0]["id"], tokens[0]["id"]);
  EXPECT_EQ(soon[0]["repository"], "r-0001");
  EXPECT_TRUE(soon[0].contains("expiresAt")) << expiring.out;

  auto repos = w.cli({"repos", "list", "--format", "json"});
  ASSERT_EQ(repos.exit_code, 0) << repos.err;
  EXPECT_EQ(json::parse(repos.out)[0]["name"], "r-0000") << repos.out;
}

TEST(CliUsability, RefusedCredentialExitsFourFromEveryCommand) {
  CliWorld w(1);
  const std::vector<std::string> wrong{"CODACY_API_TOKEN=rtka_wrongwrongwrong"};
  const std::vector<std::vector<std::string>> commands{
      {"repos", "list"},
      {"tokens", "list", "--repo", "r-0000"},
      {"tokens", "revoke", "--repo", "r-0000", "--id", "1"},
      {"expiring"},
      {"coverage", "status", "--repo", "r-0000"},
      {"provision", "--yes", "-o", (w.server->dir() / "t.csv").string()},
  };
  for (const auto& args : commands) {
    auto r = w.cli(args, {}, 60, wrong);
    EXPECT_EQ(r.exit_code, 4) << args[0] << ": " << r.err;
    EXPECT_TRUE(has(r.err, "API token was refused")) << r.err;
  }
  EXPECT_EQ(w.cli({"repos", "list"}).exit_code, 0);  // the check can fail: the right token works
}

TEST(CliUsability, ServerDownIsReportedWithinTheConnectTimeout) {
  LoopbackPort closed(false);
  const auto start = std::chrono::steady_clock::now();
  auto r = run_command({REPOTOKENS_BIN, "repos", "list", "--api-url", closed.url(), "--provider", "gh", "--org", "acme"},
                       {}, {"CODACY_API_TOKEN=x"});
  const double took = seconds_since(start);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(took, 5.0) << "the default connect timeout is 5s; took " << took << "s: " << r.err;
  EXPECT_TRUE(has(r.err, "cannot reach " + closed.url())) << r.err;
  EXPECT_TRUE(has(r.err, "connection refused")) << r.err;
  EXPECT_TRUE(has(r.err, "--api-url")) << r.err;  // what to check
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  // A server that accepts the connection and never answers: the request timeout, not minutes of nothing.
  LoopbackPort silent(true);
  const auto t0 = std::chrono::steady_clock::now();
  auto hung = run_command({REPOTOKENS_BIN, "repos", "list", "--api-url", silent.url(), "--provider", "gh", "--org", "acme",
                           "--timeout", "1s"},
                          {}, {"CODACY_API_TOKEN=x"});
  const double waited = seconds_since(t0);
  EXPECT_EQ(hung.exit_code, 1) << hung.err;
  EXPECT_LT(waited, 4.0) << hung.err;
  EXPECT_TRUE(has(hung.err, "no complete answer within 1s")) << hung.err;
}

TEST(CliUsability, AnOutageMidRunIsShownWhileRetryingAndCountedByCause) {
  ServerOptions options;
  options.extra_args = {"--rate-limit-per-token", "0"};
  CliWorld w(1000, options);
  auto out = w.server->dir() / "tokens.csv";
  // Paced, so that the run (about 2,000 requests) is still going when the server dies 300 ms in: unpaced it
  // can finish in 0.2 s, before the outage.
  BackgroundCommand cli(w.cli_args({"provision", "--yes", "--output", out.string(), "--retries", "12", "--rate", "400/s"}),
                        w.cli_env(), w.server->dir().string());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  w.server->kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  w.server->restart();
  int status = cli.wait();
  const std::string err = cli.err();
  EXPECT_TRUE(status == 0 || status == 1) << status << err;
  EXPECT_TRUE(std::regex_search(err, std::regex("server unreachable, retry \\d+/11 (in [0-9.]+s|now)"))) << err;
  EXPECT_TRUE(std::regex_search(err, std::regex("\\d+ retries \\(\\d+ unreachable"))) << err;
}

}  // namespace rt::test
