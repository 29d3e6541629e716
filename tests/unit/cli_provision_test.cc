// The state machine of `repotokens provision` (cli/provision) against canned answers: a Transport that
// answers the few Codacy operations the job uses from an in-memory table of repositories and tokens, a
// manual clock, a scripted prompt and output streams in memory. What the job decides — the plan and its
// counts, the prompt, what it creates, how it settles a create whose reply was lost, its exit status — is
// checked here without a server; tests/integration/cli_*_test.cc run the same job against real ones.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/provision.h"
#include "support/server_process.h"

namespace rt::cli {
namespace {

using nlohmann::json;

// The canned server's state, shared by the transports of every worker.
struct Canned {
  std::mutex mu;
  std::map<std::string, json> tokens;  // repository -> array of {id, name?, token}, newest first
  bool with_names = true;              // repotokensd keeps names; Codacy does not
  int lose_create_replies = 0;         // the next N creates are carried out but answered 502
  bool refuse_credential = false;      // every request answers 401
  std::int64_t next_id = 100;
  std::vector<std::string> requests;   // "METHOD /path?query"

  int count(const std::string& method) {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& r : requests) n += r.rfind(method + " ", 0) == 0;
    return n;
  }
};

client::HttpResponse reply(long status, const json& body) { return {status, body.dump(), {}}; }

class CannedTransport final : public client::Transport {
 public:
  explicit CannedTransport(Canned& c) : c_(c) {}

  Result<client::HttpResponse> perform(const std::string& method, const std::string& url,
                                       const std::vector<std::string>&, const std::string& body) override {
    std::lock_guard lock(c_.mu);
    const std::string path = url.substr(url.find("/api/v3") + 7);
    c_.requests.push_back(method + " " + path);
    if (c_.refuse_credential) return reply(401, {{"error", "Unauthorized"}, {"message", "Invalid API token"}});
    static const std::regex org_re("^/organizations/gh/acme$");
    static const std::regex repos_re("^/organizations/gh/acme/repositories\\?limit=\\d+.*$");
    static const std::regex tokens_re("^/organizations/gh/acme/repositories/([^/?]+)/tokens(\\?.*)?$");
    static const std::regex token_re("^/organizations/gh/acme/repositories/([^/?]+)/tokens/(\\d+)$");
    std::smatch m;
    if (method == "GET" && std::regex_match(path, org_re))
      return reply(200, {{"data", {{"organization", {{"name", "acme"}, {"provider", "gh"}}},
                                   {"membership", {{"userRole", "admin"}}}}}});
    if (method == "GET" && std::regex_match(path, repos_re)) {
      json data = json::array();
      for (const auto& [name, _] : c_.tokens) data.push_back({{"name", name}, {"fullPath", "acme/" + name}});
      return reply(200, {{"data", data}, {"pagination", {{"limit", 100}, {"total", data.size()}}}});
    }
    if (std::regex_match(path, m, tokens_re) && c_.tokens.count(m[1])) {
      json& list = c_.tokens[m[1]];
      if (method == "GET") {
        json data = json::array();
        for (const auto& t : list) {
          json shown = {{"id", t["id"]}, {"token", t["token"]}};
          if (c_.with_names) shown["name"] = t["name"];
          data.push_back(shown);
        }
        return reply(200, {{"data", data}, {"pagination", {{"limit", 100}, {"total", data.size()}}}});
      }
      if (method == "POST") {
        const json request = json::parse(body);
        json token = {{"id", c_.next_id++}, {"name", request.value("name", "")},
                      {"token", "secret-" + std::to_string(c_.next_id)}};
        list.insert(list.begin(), token);
        if (c_.lose_create_replies > 0) {
          --c_.lose_create_replies;
          return client::HttpResponse{502, "<html>502 Bad Gateway</html>", {}};
        }
        if (!c_.with_names) token.erase("name");
        return reply(201, {{"data", token}});
      }
    }
    if (method == "DELETE" && std::regex_match(path, m, token_re) && c_.tokens.count(m[1])) {
      json& list = c_.tokens[m[1]];
      for (auto it = list.begin(); it != list.end(); ++it)
        if (std::to_string((*it)["id"].get<std::int64_t>()) == m[2].str()) {
          list.erase(it);
          return client::HttpResponse{204, "", {}};
        }
      return reply(404, {{"error", "NotFound"}, {"message", "Token not found"}});
    }
    ADD_FAILURE() << "the job asked for something no test expects: " << method << " " << path;
    return reply(404, {{"error", "NotFound"}, {"message", "no such path"}});
  }

 private:
  Canned& c_;
};

// A FILE* in memory whose text the test reads back.
class MemoryStream {
 public:
  MemoryStream() : f_(open_memstream(&buf_, &size_)) {}
  ~MemoryStream() {
    std::fclose(f_);
    std::free(buf_);
  }
  std::FILE* get() { return f_; }
  std::string text() {
    std::fflush(f_);
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* f_;
};

class ProvisionJob : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* r : {"api", "web", "worker"}) canned_.tokens[r] = json::array();
    target_.connection.api_url = "http://canned.invalid";
    target_.connection.api_token = "account-token";
    target_.connection.max_attempts = 3;
    target_.provider = "gh";
    target_.org = "acme";
    options_.output = (dir_.path() / "tokens.csv").string();
    options_.state_path = (dir_.path() / "state" / "job.journal").string();
    options_.concurrency = 2;
    options_.quiet = true;
  }

  int run() {
    MemoryStream out, err;
    ProvisionEnv env;
    env.clock = &clock_;
    env.transport = [this](const client::ConnectionSettings&) { return std::make_unique<CannedTransport>(canned_); };
    env.ask = [this](const std::string& question) -> std::optional<std::string> {
      questions_.push_back(question);
      if (answers_.empty()) return std::nullopt;
      std::string a = answers_.front();
      answers_.erase(answers_.begin());
      return a;
    };
    env.out = out.get();
    env.err = err.get();
    env.interactive = interactive_;
    const int status = run_provision(options_, target_, env);
    out_ = out.text();
    err_ = err.text();
    return status;
  }

  std::map<std::string, std::string> delivered() const {
    std::map<std::string, std::string> rows;
    std::istringstream in(test::file_bytes(options_.output));
    std::string line;
    while (std::getline(in, line))
      if (line.find(',') != std::string::npos && line != "repository,token")
        rows[line.substr(0, line.find(','))] = line.substr(line.find(',') + 1);
    return rows;
  }

  // Every repository holds one token and the output file has its secret.
  void expect_one_delivered_token_each() {
    auto rows = delivered();
    ASSERT_EQ(rows.size(), canned_.tokens.size()) << test::file_bytes(options_.output);
    for (const auto& [repo, list] : canned_.tokens) {
      ASSERT_EQ(list.size(), 1u) << repo << ": " << list.dump();
      EXPECT_EQ(rows[repo], list[0]["token"].get<std::string>()) << repo;
    }
  }

  Canned canned_;
  Target target_;
  ProvisionOptions options_;
  ManualClock clock_{1'800'000'000};
  test::TempDir dir_;
  bool interactive_ = false;
  std::vector<std::string> answers_, questions_;
  std::string out_, err_;
};

TEST_F(ProvisionJob, EnsureCreatesOneTokenEachAndNothingTheSecondTime) {
  options_.yes = true;
  ASSERT_EQ(run(), 0) << err_;
  expect_one_delivered_token_each();
  EXPECT_EQ(canned_.count("POST"), 3);
  ASSERT_EQ(run(), 0) << err_;
  EXPECT_EQ(canned_.count("POST"), 3) << "the second run created again";
  expect_one_delivered_token_each();
}

TEST_F(ProvisionJob, ThePromptCountsWhatWillBeCreatedAndADeclineChangesNothing) {
  canned_.tokens["web"].push_back({{"id", 7}, {"name", "ci-coverage-aaaaaaaaaaaa"}, {"token", "old"}});
  interactive_ = true;
  answers_ = {"n"};
  EXPECT_EQ(run(), 3) << err_;
  ASSERT_EQ(questions_.size(), 1u);
  EXPECT_NE(questions_[0].find("Create 2 repository tokens"), std::string::npos) << questions_[0];
  EXPECT_NE(questions_[0].find("leave 1 alone"), std::string::npos) << questions_[0];
  EXPECT_EQ(canned_.count("POST"), 0);
  EXPECT_EQ(canned_.count("DELETE"), 0);
  EXPECT_NE(err_.find("cancelled"), std::string::npos) << err_;
}

TEST_F(ProvisionJob, WithoutATerminalAndWithoutYesItAsksNothingAndRefuses) {
  EXPECT_EQ(run(), 2) << err_;
  EXPECT_TRUE(questions_.empty());
  EXPECT_EQ(canned_.count("POST"), 0);
  EXPECT_NE(err_.find("--yes"), std::string::npos) << err_;
}

TEST_F(ProvisionJob, ADryRunShowsThePlanAndChangesNothing) {
  options_.dry_run = true;
  options_.quiet = false;
  EXPECT_EQ(run(), 0) << err_;
  EXPECT_EQ(canned_.count("POST"), 0);
  EXPECT_NE((out_ + err_).find("create 3"), std::string::npos) << out_ << err_;
}

TEST_F(ProvisionJob, ALostCreateReplyIsSettledByListingNotByASecondToken) {
  options_.yes = true;
  canned_.with_names = false;  // Codacy: the list cannot name the token; the journal's intent settles it
  canned_.lose_create_replies = 2;
  ASSERT_EQ(run(), 0) << err_;
  expect_one_delivered_token_each();
  EXPECT_EQ(canned_.count("POST"), 3);
  EXPECT_EQ(canned_.count("DELETE"), 0);
}

TEST_F(ProvisionJob, NamelessServerEnsureLeavesARepositoryWithALiveTokenAlone) {
  options_.yes = true;
  canned_.with_names = false;
  canned_.tokens["api"].push_back({{"id", 5}, {"name", "made-by-hand"}, {"token", "by-hand"}});
  ASSERT_EQ(run(), 0) << err_;
  EXPECT_EQ(canned_.count("POST"), 2);
  EXPECT_EQ(canned_.tokens["api"].size(), 1u);
  EXPECT_EQ(delivered().count("api"), 0u) << "a token the job did not make is not its to deliver";
}

TEST_F(ProvisionJob, RotateReplacesTheJobsTokensAndRevokesTheOldOnes) {
  options_.yes = true;
  ASSERT_EQ(run(), 0) << err_;
  const auto first = delivered();
  options_.mode = ProvisionMode::rotate;
  ASSERT_EQ(run(), 0) << err_;
  expect_one_delivered_token_each();
  for (const auto& [repo, secret] : delivered()) EXPECT_NE(secret, first.at(repo)) << repo;
  EXPECT_EQ(canned_.count("DELETE"), 3);
}

TEST_F(ProvisionJob, ARefusedCredentialExitsFour) {
  options_.yes = true;
  canned_.refuse_credential = true;
  EXPECT_EQ(run(), 4) << err_;
  EXPECT_EQ(canned_.count("POST"), 0);
}

}  // namespace
}  // namespace rt::cli
