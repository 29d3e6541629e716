// GitHub secret scanning's receiver against a real server (POST /api/v3/secret-scanning/github): an alert
// signed with an ECDSA P-256 key made at test time and listed in the configured key-set file revokes the
// real tokens of a 1,000-token batch and labels each; an unsigned, wrongly signed, tampered or unknown-key
// alert is a 401 that revokes and reveals nothing; a rotated key set is picked up without a restart; a
// server without a key set answers 404 saying how to enable the receiver. The key set served over real
// HTTPS (a test CA trusted through --outbound-ca-file): fetched at start, fetched again when GitHub rotates,
// a GitHub outage at start answered 503 until the URL answers, bad URLs refused at start.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <random>
#include <set>

#include "core/secret.h"
#include "support/api_fixture.h"
#include "support/ec_key.h"
#include "support/https_file_server.h"

namespace rt::test {
namespace {

const std::string kAlert = "/api/v3/secret-scanning/github";

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.flush()) << path;
}

HttpResponse post_alert(HttpClient& http, const std::string& body, const std::string& key_id,
                        const std::string& signature) {
  std::vector<std::string> headers = {"Content-Type: application/json"};
  if (!key_id.empty()) headers.push_back("Github-Public-Key-Identifier: " + key_id);
  if (!signature.empty()) headers.push_back("Github-Public-Key-Signature: " + signature);
  return http.request("POST", kAlert, body, headers);
}

std::string one_token_body(const std::string& secret) {
  return nlohmann::json::array({{{"token", secret},
                                 {"type", "repotokens_repository_token"},
                                 {"url", "https://github.com/acme/api/blob/abc/ci.yml"},
                                 {"source", "content"}}})
      .dump();
}

class LeakGitHub : public ::testing::Test {
 protected:
  TempDir keys_dir;
  EcTestKey github_key;
  std::filesystem::path key_file = [this] {
    auto path = keys_dir.path() / "github-keys.json";
    write_file(path, github_key_set("gh-key-1", github_key.public_pem()));
    return path;
  }();
  ServerProcess server{{.extra_args = {"--github-secret-scanning-keys", key_file.string()}}};
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api", "web"});

  HttpResponse alert(const std::string& body, const std::string& key_id, const std::string& signature) {
    return post_alert(http, body, key_id, signature);
  }
  HttpResponse signed_alert(const std::string& body) { return alert(body, "gh-key-1", github_key.sign_base64(body)); }
};

TEST_F(LeakGitHub, ASignedBatchOfAThousandRevokesTheRealTokensAndLabelsEach) {
  std::set<std::string> real;
  for (int i = 0; i < 20; ++i)
    real.insert(create_repository_token(http, w.admin.token, "gh", "acme", i % 2 ? "api" : "web").secret);
  for (int i = 0; i < 5; ++i) {
    TestUser dev = create_user(http, w.admin.token, "dev" + std::to_string(i));
    set_org_role(http, w.admin.token, "gh", "acme", dev.id, "member");
    real.insert(dev.token);
  }
  SystemRandom random;
  std::vector<std::string> secrets(real.begin(), real.end());
  for (int i = 0; secrets.size() < 1000; ++i) {
    if (i % 4 == 3) secrets.push_back("rtkr_" + std::string(49, 'A' + i % 26));  // right shape, wrong checksum
    else secrets.push_back(generate_token(i % 2 ? TokenKind::account : TokenKind::repository, random));
  }
  std::shuffle(secrets.begin(), secrets.end(), std::mt19937(7));
  nlohmann::json batch = nlohmann::json::array();
  for (const std::string& s : secrets)
    batch.push_back({{"token", s}, {"type", "repotokens_token"}, {"url", "https://github.com/acme/api/commit/1"},
                     {"source", "commit"}});
  const std::string body = batch.dump();

  auto r = signed_alert(body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto answer = r.json();
  ASSERT_TRUE(answer.is_array());
  ASSERT_EQ(answer.size(), 1000u);
  int true_positives = 0;
  for (size_t i = 0; i < answer.size(); ++i) {
    EXPECT_EQ(answer[i]["token_raw"], secrets[i]);
    EXPECT_EQ(answer[i]["token_type"], "repotokens_token");
    const bool ours = real.count(secrets[i]) > 0;
    EXPECT_EQ(answer[i]["label"], ours ? "true_positive" : "false_positive") << i;
    true_positives += answer[i]["label"] == "true_positive";
  }
  EXPECT_EQ(true_positives, 25);
  for (const std::string& s : real) {
    auto probe = s.starts_with(kAccountTokenPrefix) ? http.get("/api/v3/user", {api_token(s)})
                                                    : http.get(repo_path("gh", "acme", "api"), {project_token(s)});
    EXPECT_TRUE(IsApiError(probe, 401)) << "a reported token still works";
  }
  int leaked = 0;
  for (auto& e : walk_all(http, org_path("gh", "acme") + "/audit", w.admin.token))
    if (e["action"] == "token.leaked") {
      ++leaked;
      EXPECT_EQ(e["actorName"], "leak-report:github");
      EXPECT_NE(e["description"].get<std::string>().find("https://github.com/acme/api/commit/1"), std::string::npos);
    }
  EXPECT_EQ(leaked, 25);  // 20 repository tokens, and the account tokens of 5 members
}

TEST_F(LeakGitHub, UnsignedOrWronglySignedAlertsRevokeAndRevealNothing) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  const std::string body = one_token_body(t.secret);
  EcTestKey impostor;
  const std::string good = github_key.sign_base64(body);
  std::string flipped = good;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  struct Case {
    const char* what;
    HttpResponse response;
  };
  const std::vector<Case> cases = {
      {"unsigned", alert(body, "", "")},
      {"no signature", alert(body, "gh-key-1", "")},
      {"no key identifier", alert(body, "", good)},
      {"another key's signature", alert(body, "gh-key-1", impostor.sign_base64(body))},
      {"a damaged signature", alert(body, "gh-key-1", flipped)},
      {"not base64", alert(body, "gh-key-1", "%%%not-base64%%%")},
      {"an unknown key", alert(body, "gh-key-2", good)},
      {"another body's signature", alert(body, "gh-key-1", github_key.sign_base64(body + " "))},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(IsApiError(c.response, 401)) << c.what;
    EXPECT_EQ(c.response.body.find(t.secret), std::string::npos) << c.what;
    EXPECT_EQ(c.response.body.find("positive"), std::string::npos) << c.what;
  }
  EXPECT_EQ(http.get(repo_path("gh", "acme", "api"), {project_token(t.secret)}).status, 200)
      << "an alert GitHub did not sign revoked the token";

  auto r = signed_alert(body);  // the same alert, signed: now it counts
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()[0]["label"], "true_positive");
  EXPECT_TRUE(IsApiError(http.get(repo_path("gh", "acme", "api"), {project_token(t.secret)}), 401));
}

TEST_F(LeakGitHub, ARotatedKeySetIsReadAgainWhenAnUnknownKeyIsNamed) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  EcTestKey next;
  write_file(key_file, github_key_set("gh-key-2", next.public_pem()));
  const std::string body = one_token_body(t.secret);
  auto r = alert(body, "gh-key-2", next.sign_base64(body));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()[0]["label"], "true_positive");
  EXPECT_TRUE(IsApiError(http.get(repo_path("gh", "acme", "api"), {project_token(t.secret)}), 401));
}

TEST_F(LeakGitHub, SignedButMalformedBatchesAreRefused) {
  for (const std::string& body : {std::string("not json"), std::string("{}"), std::string("[]"),
                                  std::string(R"([{"type": "x"}])")}) {
    auto r = signed_alert(body);
    EXPECT_TRUE(IsApiError(r, 400)) << body << " -> " << r.body;
  }
}

TEST(LeakGitHubOff, WithoutAKeySetTheReceiverSaysHowToEnableIt) {
  ServerProcess server;
  HttpClient http{server.base_url()};
  auto r = http.request("POST", kAlert, "[]", {"Github-Public-Key-Identifier: x", "Github-Public-Key-Signature: eA=="});
  ASSERT_TRUE(IsApiError(r, 404)) << r.body;
  EXPECT_NE(r.json()["message"].get<std::string>().find("--github-secret-scanning-keys"), std::string::npos) << r.body;
}

TEST(LeakGitHubOff, ABadKeySetStopsStartUpSayingWhy) {
  TempDir dir;
  auto path = dir.path() / "keys.json";
  write_file(path, R"({"public_keys": [{"key_identifier": "k", "key": "not a pem"}]})");
  auto r = run_command({repotokensd_under_test(), "serve", "--db", "sqlite:" + (dir.path() / "t.db").string(),
                        "--listen", "127.0.0.1:0", "--github-secret-scanning-keys", path.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("PEM"), std::string::npos) << r.err;
}

// The key set at a URL, as GitHub publishes it (https://api.github.com/meta/public_keys/secret_scanning):
// here a real HTTPS server with a certificate made at test time, trusted through --outbound-ca-file.
class LeakGitHubUrl : public ::testing::Test {
 protected:
  static constexpr const char* kKeys = "secret_scanning.json";
  HttpsFileServer keys_server;
  EcTestKey first_key;
  bool served = [this] {
    keys_server.write(kKeys, github_key_set("gh-url-key-1", first_key.public_pem()));
    return true;
  }();
  std::vector<std::string> url_args() const {
    return {"--github-secret-scanning-keys", keys_server.url(kKeys), "--outbound-ca-file",
            keys_server.ca_file().string(), "--github-secret-scanning-refetch-seconds", "1"};
  }
  static HttpResponse signed_by(HttpClient& http, const EcTestKey& key, const std::string& id, const std::string& body) {
    return post_alert(http, body, id, key.sign_base64(body));
  }
  static bool token_works(HttpClient& http, const std::string& secret) {
    return http.get(repo_path("gh", "acme", "api"), {project_token(secret)}).status == 200;
  }
};

TEST_F(LeakGitHubUrl, TheFetchedSetVerifiesAndARotationIsFetchedWhenItsKeyIsFirstNamed) {
  ServerProcess server{{.extra_args = url_args()}};
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api"});
  EXPECT_EQ(keys_server.gets(), 1) << "the key set was not fetched once at start";

  auto first = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  auto r = signed_by(http, first_key, "gh-url-key-1", one_token_body(first.secret));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()[0]["label"], "true_positive");
  EXPECT_FALSE(token_works(http, first.secret)) << "a report signed with the served key did not revoke";
  EXPECT_EQ(keys_server.gets(), 1) << "a known key fetched the set again";

  // GitHub rotates: the URL now serves only a new key, which the server has never seen.
  EcTestKey second_key;
  keys_server.write(kKeys, github_key_set("gh-url-key-2", second_key.public_pem()));
  auto second = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  r = signed_by(http, second_key, "gh-url-key-2", one_token_body(second.secret));
  ASSERT_EQ(r.status, 200) << r.body << "\n" << server.log();
  EXPECT_EQ(r.json()[0]["label"], "true_positive");
  EXPECT_FALSE(token_works(http, second.secret)) << "a report signed with the rotated key did not revoke";
  EXPECT_EQ(keys_server.gets(), 2);

  // A key in neither set, named as one of them and as a new one: refused, nothing revoked.
  EcTestKey stranger;
  auto third = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  const std::string body = one_token_body(third.secret);
  for (const char* id : {"gh-url-key-2", "gh-url-key-1", "gh-url-key-3"}) {
    r = signed_by(http, stranger, id, body);
    ASSERT_TRUE(IsApiError(r, 401)) << id << ": " << r.body;
    EXPECT_EQ(r.body.find("positive"), std::string::npos) << r.body;
  }
  EXPECT_TRUE(token_works(http, third.secret)) << "a report signed with an unknown key revoked a token";
  EXPECT_EQ(server.log().find(third.secret), std::string::npos);
}

TEST_F(LeakGitHubUrl, AKeySetURLThatIsDownAtStartAnswers503UntilItComesUp) {
  keys_server.stop();
  ServerProcess server{{.extra_args = url_args()}};  // starts: GitHub being down must not keep it down
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api"});
  EXPECT_NE(server.log().find("starting without GitHub's key set"), std::string::npos) << server.log();

  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  const std::string body = one_token_body(t.secret);
  auto r = signed_by(http, first_key, "gh-url-key-1", body);
  ASSERT_TRUE(IsApiError(r, 503)) << r.body;
  EXPECT_NE(r.json()["message"].get<std::string>().find("key set could not be fetched"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("positive"), std::string::npos);
  EXPECT_TRUE(token_works(http, t.secret));

  keys_server.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the 1 s cooldown of the failed fetch
  r = signed_by(http, first_key, "gh-url-key-1", body);
  ASSERT_EQ(r.status, 200) << r.body << "\n" << server.log();
  EXPECT_EQ(r.json()[0]["label"], "true_positive");
  EXPECT_FALSE(token_works(http, t.secret));
  const std::string metrics = http.get("/metrics").body;
  EXPECT_NE(metrics.find("repotokens_github_key_set_reads_total{result=\"failed\"}"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("repotokens_github_key_set_reads_total{result=\"ok\"} 1"), std::string::npos) << metrics;
}

TEST_F(LeakGitHubUrl, WithoutTheTestCaTheSelfSignedServerIsNotTrusted) {
  // The CA option is what makes the fetch work: without it the certificate fails verification (503).
  ServerProcess server{{.extra_args = {"--github-secret-scanning-keys", keys_server.url(kKeys)}}};
  HttpClient http{server.base_url()};
  const std::string body = "[]";
  auto r = signed_by(http, first_key, "gh-url-key-1", body);
  ASSERT_TRUE(IsApiError(r, 503)) << r.body;
  EXPECT_NE(server.log().find(keys_server.url(kKeys)), std::string::npos) << server.log();
}

TEST(LeakGitHubUrlStart, PlainHttpElsewhereAndBadURLsAreRefusedAtStart) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const std::vector<Case> cases = {
      {{"--github-secret-scanning-keys", "http://api.github.com/meta/public_keys/secret_scanning"}, "loopback"},
      {{"--github-secret-scanning-keys", "https://"}, "https://HOST"},
      {{"--github-secret-scanning-keys", "ftp://api.github.com/keys"}, "neither a file nor an https:// URL"},
      {{"--github-secret-scanning-keys", "https://api.github.com/keys?x=1"}, "no query"},
      {{"--outbound-ca-file", (dir.path() / "missing.pem").string()}, "cannot be read"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {repotokensd_under_test(), "serve", "--db",
                                     "sqlite:" + (dir.path() / "t.db").string(), "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = run_command(argv, {}, {}, 30);
    EXPECT_EQ(r.exit_code, 2) << c.args.back() << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args.back() << ": " << r.err;
  }
}

}  // namespace
}  // namespace rt::test
