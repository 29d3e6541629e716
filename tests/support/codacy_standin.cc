// Starting and stopping the Codacy stand-in (a Python process whose first output line names its port).
#include "support/codacy_standin.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "support/python_server.h"

namespace rt::test {

bool standin_available() { return ::access("/usr/bin/python3", X_OK) == 0; }

CodacyStandin::CodacyStandin(StandinOptions o) : token_("standin-account-token-0123456789") {
  const std::string script = std::string(REPOTOKENS_SOURCE_DIR) + "/tests/codacy_standin/codacy_standin.py";
  std::vector<std::string> args{"--token", token_, "--repos", std::to_string(o.repos),
                                "--window-quota", std::to_string(o.window_quota), "--window-seconds",
                                std::to_string(o.window_seconds), "--bad-gateway-every",
                                std::to_string(o.bad_gateway_every)};
  PythonServer started = start_python_server("the Codacy stand-in", script, args);
  pid_ = started.pid;
  port_ = started.port;
  http_ = std::make_unique<HttpClient>(base_url());
}

CodacyStandin::~CodacyStandin() {
  PythonServer started{pid_, port_};
  stop_python_server(started);
}

std::string CodacyStandin::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

nlohmann::json CodacyStandin::state() const {
  auto r = http_->get("/_standin/state");
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json();
}

std::map<std::string, std::vector<nlohmann::json>> CodacyStandin::tokens() const {
  std::map<std::string, std::vector<nlohmann::json>> out;
  const nlohmann::json held = state();  // a named value: items() of a temporary's member would dangle
  for (auto& [repo, list] : held["tokens"].items()) out[repo] = list.get<std::vector<nlohmann::json>>();
  return out;
}

long CodacyStandin::counter(const std::string& name) const { return state()["counters"].value(name, 0L); }

CommandResult CodacyStandin::cli(std::vector<std::string> args, const std::string& api_url, int timeout_seconds) const {
  std::vector<std::string> argv{REPOTOKENS_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::vector<std::string> connection{"--api-url", api_url.empty() ? base_url() : api_url, "--provider", "gh",
                                            "--org", "acme"};
  argv.insert(argv.end(), connection.begin(), connection.end());
  return run_command(argv, {}, {"CODACY_API_TOKEN=" + token_, "XDG_STATE_HOME=" + (dir() / "state").string(),
                                "XDG_CONFIG_HOME=" + (dir() / "config").string()},
                     timeout_seconds);
}

}  // namespace rt::test
