// Secretless CI end to end (API.md "Secretless CI"): a real repotokensd trusting a test OIDC issuer (a real
// HTTP server on loopback with keys made at start), trust rules over the API, and the exchange of signed job
// tokens for short-lived repository tokens: a valid one works and uploads coverage; each refusal is a 401
// with its reason and issues nothing; key rotation is picked up, a JWKS outage keeps cached keys; and the
// issued token does nothing but coverage upload and getRepository; the exchange is announced to the
// organization's webhooks as token.exchanged (not token.created); an issuer served over real HTTPS is
// trusted through --outbound-ca-file and only then.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "support/api_fixture.h"
#include "support/https_file_server.h"
#include "support/oidc_issuer.h"
#include "support/webhook_receiver.h"

namespace rt::test {
namespace {

using nlohmann::json;

constexpr const char* kAudience = "https://repotokens.example";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class CiExchange : public ::testing::Test {
 protected:
  explicit CiExchange(std::string refetch_seconds = "60", std::vector<std::string> more_args = {})
      : server(ServerOptions{.db_url = {}, .extra_args = server_args(refetch_seconds, more_args), .env = {}}) {}

  std::vector<std::string> server_args(const std::string& refetch_seconds, const std::vector<std::string>& more) {
    std::vector<std::string> args = {"--ci-issuer", "github=" + issuer.url(), "--ci-audience", kAudience,
                                     "--ci-key-refetch-seconds", refetch_seconds};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  OidcIssuer issuer;
  ServerProcess server;
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api", "web"});
  const std::string rules = repo_path("gh", "acme", "api") + "/ci-trust";

  // A GitHub Actions job token of acme/api, valid now; `change` edits it.
  json claims(const json& change = json::object()) {
    static std::atomic<int> serial{0};
    const std::int64_t now = unix_now();
    json c = {{"iss", issuer.url()},
              {"aud", kAudience},
              {"exp", now + 300},
              {"nbf", now - 5},
              {"iat", now - 5},
              {"jti", std::to_string(serial++) + "-" + std::to_string(now) + "-job"},
              {"repository", "acme/api"},
              {"repository_id", "1001"},
              {"repository_owner_id", "77"},
              {"ref", "refs/heads/main"},
              {"sha", "0123456789abcdef0123456789abcdef01234567"},
              {"run_id", "4242"},
              {"workflow_ref", "acme/api/.github/workflows/ci.yml@refs/heads/main"}};
    c.update(change);
    return c;
  }
  HttpResponse add_rule(const json& body) {
    return http.request("POST", rules, body.dump(), {api_token(w.admin.token), "Content-Type: application/json"});
  }
  std::int64_t add_default_rule() {
    auto r = add_rule({{"issuer", issuer.url()},
                       {"claims", {{"repository_id", "1001"}, {"ref", "refs/heads/*"}, {"repository", "ACME/API"}}}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json()["data"].value("id", std::int64_t{0});
  }
  HttpResponse exchange(const std::string& jwt) {
    return http.request("POST", "/api/v3/ci/token", json{{"jwt", jwt}}.dump(), {"Content-Type: application/json"});
  }
  std::int64_t tokens() { return table_counts(server.db_url())["repository_tokens"]; }
  // A 401 whose message starts with `reason`, and no token issued.
  void expect_refused(const std::string& jwt, const std::string& reason) {
    const std::int64_t before = tokens();
    auto r = exchange(jwt);
    EXPECT_TRUE(IsApiError(r, 401)) << reason;
    EXPECT_EQ(r.json().value("message", "").rfind(reason, 0), 0u) << "expected '" << reason << "': " << r.body;
    EXPECT_EQ(tokens(), before) << reason;
  }
};

class CiExchangeFastRefetch : public CiExchange {
 protected:
  CiExchangeFastRefetch() : CiExchange("1") {}
};

// One exchange a minute per repository after a burst of 2; per issuer, a burst of 5.
class CiExchangeLimited : public CiExchange {
 protected:
  CiExchangeLimited()
      : CiExchange("60", {"--ci-rate-per-repository", "0.016", "--ci-burst-per-repository", "2",
                          "--ci-rate-per-issuer", "0.016", "--ci-burst-per-issuer", "5"}) {}
};

// Built before CiExchange's members, so that the HTTPS issuer's URL can be among the server's issuers.
struct HttpsIssuerHost {
  HttpsFileServer https;
  std::string https_issuer() const {
    std::string url = https.url("");
    url.pop_back();  // "https://127.0.0.1:PORT", as iss (no trailing slash)
    return url;
  }
};

// A second issuer whose discovery and JWKS are files on a real HTTPS server with a certificate made at test
// time, trusted through --outbound-ca-file (the GET GitHub's key set uses too). It publishes the test
// issuer's keys, so issuer.sign signs for it.
class CiExchangeHttps : protected HttpsIssuerHost, public CiExchange {
 protected:
  CiExchangeHttps()
      : CiExchange("60", {"--ci-issuer", "github=" + https_issuer(), "--outbound-ca-file", https.ca_file().string()}) {}
  void publish() {
    HttpClient plain{issuer.url()};
    https.write("jwks", plain.get("/jwks").body);
    https.write(".well-known/openid-configuration",
                json{{"issuer", https_issuer()}, {"jwks_uri", https_issuer() + "/jwks"}}.dump());
  }
};

TEST_F(CiExchangeHttps, AnIssuerServedOverHttpsIsTrustedThroughTheOutboundCaFileAndOnlyThen) {
  publish();
  const json rule = {{"issuer", https_issuer()}, {"claims", {{"repository_id", "1001"}, {"ref", "refs/heads/*"}}}};
  ASSERT_EQ(add_rule(rule).status, 201);
  auto r = exchange(issuer.sign({.claims = claims({{"iss", https_issuer()}})}));
  ASSERT_EQ(r.status, 201) << r.body << "\n" << server.log();
  EXPECT_EQ(https.gets(), 2) << "discovery and JWKS were not fetched over HTTPS once each";

  // The same issuer on a server not given the CA: its certificate does not verify, nothing is issued.
  ServerProcess untrusting{{.extra_args = {"--ci-issuer", "github=" + https_issuer(), "--ci-audience", kAudience}}};
  HttpClient other{untrusting.base_url()};
  World o = bootstrap_world(untrusting, other, "acme", {"api"});
  auto added = other.request("POST", rules, rule.dump(), {api_token(o.admin.token), "Content-Type: application/json"});
  ASSERT_EQ(added.status, 201) << added.body;
  auto refused = other.request("POST", "/api/v3/ci/token",
                               json{{"jwt", issuer.sign({.claims = claims({{"iss", https_issuer()}})})}}.dump(),
                               {"Content-Type: application/json"});
  ASSERT_TRUE(IsApiError(refused, 401)) << refused.body;
  EXPECT_NE(refused.json().value("message", "").find("could not be fetched"), std::string::npos) << refused.body;
}

TEST_F(CiExchange, AValidJobTokenBecomesARepositoryTokenThatUploadsCoverage) {
  add_default_rule();
  for (const char* key : {"rsa", "ec"}) {
    auto r = exchange(issuer.sign({.claims = claims(), .key = key}));
    ASSERT_EQ(r.status, 201) << key << ": " << r.body;
    json data = r.json()["data"];
    EXPECT_EQ(data["repository"], json({{"provider", "gh"}, {"owner", "acme"}, {"name", "api"}}));
    EXPECT_EQ(data["name"].get<std::string>().rfind("ci-4242-", 0), 0u) << data;
    const std::string token = data["token"];

    json report = {{"fileReports", {{{"filename", "src/a.go"}, {"coverage", {{"1", 1}, {"2", 0}}}}}}};
    auto upload = http.request("POST", "/2.0/coverage/abc123/go", report.dump(),
                               {project_token(token), "Content-Type: application/json"});
    EXPECT_EQ(upload.status, 200) << upload.body;
    EXPECT_EQ(http.get(repo_path("gh", "acme", "api"), {project_token(token)}).status, 200);
  }
  // Listed with the repository's tokens, expiring after the default 15 minutes; audited with the claims.
  auto listed = http.get(repo_path("gh", "acme", "api") + "/tokens", {api_token(w.admin.token)});
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.json()["data"].size(), 2u) << listed.body;
  auto audit = http.get(org_path("gh", "acme") + "/audit", {api_token(w.admin.token)});
  EXPECT_NE(audit.body.find("run_id=4242"), std::string::npos) << audit.body;
  EXPECT_NE(audit.body.find("sha=0123456789abcdef"), std::string::npos) << audit.body;
}

TEST_F(CiExchange, EveryRefusalIsA401WithItsReasonAndIssuesNothing) {
  const std::int64_t rule = add_default_rule();
  const std::int64_t now = unix_now();
  expect_refused(issuer.sign({.claims = claims({{"exp", now - 120}})}), "expired");
  expect_refused(issuer.sign({.claims = claims({{"nbf", now + 600}})}), "not yet valid");
  expect_refused(issuer.sign({.claims = claims({{"aud", "https://elsewhere.example"}})}), "wrong audience");
  expect_refused(issuer.sign({.claims = claims({{"iss", "https://token.actions.githubusercontent.com"}})}),
                 "unknown issuer");
  expect_refused(issuer.sign({.claims = claims(), .key = "unpublished"}), "signature");
  expect_refused(issuer.sign({.claims = claims(), .alg = "none"}), "signature");
  expect_refused(issuer.sign({.claims = claims(), .alg = "HS256"}), "signature");
  expect_refused(issuer.sign({.claims = claims(), .tamper = true}), "signature");
  expect_refused(issuer.sign({.claims = claims({{"ref", "refs/pull/7/merge"}})}), "no trust rule matched");
  expect_refused(issuer.sign({.claims = claims({{"repository_id", "1002"}})}), "no trust rule matched");

  const std::string once = issuer.sign({.claims = claims()});
  ASSERT_EQ(exchange(once).status, 201);
  expect_refused(once, "replayed");

  auto removed = http.del(rules + "/" + std::to_string(rule), {api_token(w.admin.token)});
  ASSERT_EQ(removed.status, 204) << removed.body;
  expect_refused(issuer.sign({.claims = claims()}), "no trust rule matched");
}

TEST_F(CiExchange, AnUnknownKeyIdRefetchesAtMostOncePerInterval) {
  add_default_rule();
  auto first = exchange(issuer.sign({.claims = claims()}));
  ASSERT_EQ(first.status, 201) << first.body << server.log();  // it failed once under load, saying nothing
  const long fetched = issuer.jwks_fetches();
  expect_refused(issuer.sign({.claims = claims(), .key = "unpublished"}), "signature");
  expect_refused(issuer.sign({.claims = claims(), .key = "unpublished"}), "signature");
  EXPECT_EQ(issuer.jwks_fetches(), fetched);  // the first fetch was less than 60 s ago
}

TEST_F(CiExchangeFastRefetch, KeyRotationIsPickedUpAndAnOutageKeepsCachedKeys) {
  add_default_rule();
  ASSERT_EQ(exchange(issuer.sign({.claims = claims()})).status, 201);
  issuer.rotate();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto rotated = exchange(issuer.sign({.claims = claims()}));
  EXPECT_EQ(rotated.status, 201) << rotated.body;

  issuer.set_down(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto cached = exchange(issuer.sign({.claims = claims(), .key = "ec"}));
  EXPECT_EQ(cached.status, 201) << cached.body;
  expect_refused(issuer.sign({.claims = claims(), .key = "unpublished"}), "signature");
}

TEST_F(CiExchange, TheIssuedTokenDoesNothingButCoverageUploadAndGetRepository) {
  add_default_rule();
  auto r = exchange(issuer.sign({.claims = claims()}));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string token = r.json()["data"]["token"];
  const std::string repo = repo_path("gh", "acme", "api");
  EXPECT_TRUE(IsApiError(http.get(repo + "/coverage/uploads", {project_token(token)}), 403));
  EXPECT_TRUE(IsApiError(http.get(repo + "/coverage/status", {project_token(token)}), 403));
  EXPECT_TRUE(IsApiError(http.get(repo + "/tokens", {project_token(token)}), 403));
  EXPECT_TRUE(IsApiError(http.get(rules, {project_token(token)}), 403));
  EXPECT_EQ(http.get(repo, {project_token(token)}).status, 200);
}

TEST_F(CiExchange, TrustRulesAreValidatedAndNeedARepositoryAdmin) {
  auto no_id = add_rule({{"issuer", issuer.url()}, {"claims", {{"repository", "acme/api"}}}});
  EXPECT_TRUE(IsApiError(no_id, 400));
  EXPECT_NE(no_id.json().value("message", "").find("bindsOnlyNames"), std::string::npos) << no_id.body;
  auto globbed_id = add_rule({{"issuer", issuer.url()}, {"claims", {{"repository_id", "*"}}}});
  EXPECT_TRUE(IsApiError(globbed_id, 400));
  auto names = add_rule({{"issuer", issuer.url()}, {"claims", {{"repository", "acme/api"}}}, {"bindsOnlyNames", true}});
  EXPECT_EQ(names.status, 201) << names.body;
  auto foreign = add_rule({{"issuer", "https://gitlab.com"}, {"claims", {{"project_id", "1"}}}});
  EXPECT_TRUE(IsApiError(foreign, 400));
  EXPECT_NE(foreign.json().value("message", "").find("issuer"), std::string::npos) << foreign.body;
  for (int minutes : {0, 61}) {
    auto life = add_rule({{"issuer", issuer.url()}, {"claims", {{"repository_id", "1"}}}, {"lifetimeMinutes", minutes}});
    EXPECT_TRUE(IsApiError(life, 400));
    EXPECT_NE(life.json().value("message", "").find("lifetimeMinutes"), std::string::npos) << life.body;
  }
  auto no_claims = add_rule({{"issuer", issuer.url()}});
  EXPECT_TRUE(IsApiError(no_claims, 400));
  EXPECT_NE(no_claims.json().value("message", "").find("claims"), std::string::npos) << no_claims.body;

  auto ok = add_rule({{"issuer", issuer.url()}, {"claims", {{"repository_id", "1001"}}}, {"lifetimeMinutes", 5}});
  ASSERT_EQ(ok.status, 201) << ok.body;
  json rule = ok.json()["data"];
  EXPECT_EQ(rule["audience"], kAudience);
  EXPECT_EQ(rule["lifetimeMinutes"], 5);
  auto listed = http.get(rules, {api_token(w.admin.token)});
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json()["data"].size(), 2u);

  TestUser mallory = create_user(http, w.admin.token, "mallory");
  set_org_role(http, w.admin.token, "gh", "acme", mallory.id, "member");
  grant_permission(http, w.admin.token, "gh", "acme", "api", mallory.id, "write");
  auto refused = http.request("POST", rules, json{{"issuer", issuer.url()}, {"claims", {{"repository_id", "1"}}}}.dump(),
                              {api_token(mallory.token), "Content-Type: application/json"});
  EXPECT_TRUE(IsApiError(refused, 403));
  EXPECT_TRUE(IsApiError(http.get(rules, {api_token(mallory.token)}), 403));
}

TEST_F(CiExchange, TheLifetimeIsTheRules) {
  auto rule = add_rule({{"issuer", issuer.url()}, {"claims", {{"repository_id", "1001"}}}, {"lifetimeMinutes", 2}});
  ASSERT_EQ(rule.status, 201) << rule.body;
  const std::string earliest = rfc3339_from_now(119);
  auto r = exchange(issuer.sign({.claims = claims()}));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string latest = rfc3339_from_now(121);
  auto listed = http.get(repo_path("gh", "acme", "api") + "/tokens", {api_token(w.admin.token)});
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.json()["data"].size(), 1u) << listed.body;
  EXPECT_EQ(listed.json()["data"][0]["expiresAt"], r.json()["data"]["expiresAt"]) << listed.body << r.body;
  // now + 2 minutes, as the server's clock saw "now" between the two readings of the test's.
  const std::string expires = r.json()["data"]["expiresAt"];
  EXPECT_GE(expires, earliest) << r.body;
  EXPECT_LE(expires, latest) << r.body;
}

// A refusal for the rate changes nothing: the JWT is not burnt (it works once the budget is back — here,
// never within the test, so the check is that it is refused as rate-limited again, not as replayed).
TEST_F(CiExchangeLimited, ExchangesAreLimitedPerRepositoryThenPerIssuerAndCounted) {
  add_default_rule();
  auto web = http.request("POST", repo_path("gh", "acme", "web") + "/ci-trust",
                     json{{"issuer", issuer.url()}, {"claims", {{"repository_id", "2002"}}}}.dump(),
                     {api_token(w.admin.token), "Content-Type: application/json"});
  ASSERT_EQ(web.status, 201) << web.body;
  ASSERT_EQ(exchange(issuer.sign({.claims = claims()})).status, 201);
  ASSERT_EQ(exchange(issuer.sign({.claims = claims()})).status, 201);
  const std::int64_t before = tokens();
  const std::string third = issuer.sign({.claims = claims()});
  auto limited = exchange(third);
  EXPECT_TRUE(IsApiError(limited, 429));
  EXPECT_NE(limited.json().value("message", "").find("each repository allows"), std::string::npos) << limited.body;
  auto again = exchange(third);
  EXPECT_TRUE(IsApiError(again, 429)) << "a rate-limited JWT is not recorded as used";
  EXPECT_EQ(tokens(), before);

  // Another repository has its own budget, until the issuer's (5: four charged above) is spent.
  auto other = exchange(issuer.sign({.claims = claims({{"repository_id", "2002"}, {"repository", "acme/web"}})}));
  EXPECT_EQ(other.status, 201) << other.body;
  auto issuer_limited =
      exchange(issuer.sign({.claims = claims({{"repository_id", "2002"}, {"repository", "acme/web"}})}));
  EXPECT_TRUE(IsApiError(issuer_limited, 429));
  EXPECT_NE(issuer_limited.json().value("message", "").find("issuer " + issuer.url()), std::string::npos)
      << issuer_limited.body;
  EXPECT_EQ(tokens(), before + 1);

  auto metrics = http.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string label = "issuer=\"" + issuer.url() + "\"";
  EXPECT_NE(metrics.body.find("repotokens_ci_exchanges_total{" + label + ",result=\"issued\"} 3"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("repotokens_ci_exchanges_total{" + label + ",result=\"rate_limited\"} 3"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("repotokens_ci_jwks_fetches_total{" + label + ",result=\"ok\"} 1"), std::string::npos)
      << metrics.body;
}

// The issued token is announced once, as token.exchanged (its own event in API.md), through the outbox of
// the exchange's transaction; token.created stays for tokens people and tools create.
TEST_F(CiExchange, TheIssuedTokenIsAnnouncedAsExchangedNotAsCreated) {
  WebhookReceiver receiver;
  auto hook = http.post(org_path("gh", "acme") + "/webhooks",
                        {{"url", receiver.url()}, {"secret", "a-webhook-secret-0123456789"},
                         {"events", {"token.created", "token.exchanged"}}},
                        {api_token(w.admin.token)});
  ASSERT_EQ(hook.status, 201) << hook.body;
  add_default_rule();
  auto r = exchange(issuer.sign({.claims = claims()}));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string name = r.json()["data"]["name"];
  auto made = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "by-hand"}});

  ASSERT_TRUE(eventually([&] { return receiver.requests().size() >= 2; }, std::chrono::seconds(30))) << server.log();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a second announcement would arrive meanwhile
  auto got = receiver.requests();
  ASSERT_EQ(got.size(), 2u) << "one event per token";
  json exchanged = json::parse(got[0].body), created = json::parse(got[1].body);
  EXPECT_EQ(got[0].headers["x-repotokens-event"], "token.exchanged");
  EXPECT_EQ(exchanged["event"], "token.exchanged");
  EXPECT_EQ(exchanged["token"]["name"], name);
  EXPECT_EQ(exchanged["token"]["kind"], "repository");
  EXPECT_EQ(exchanged["repository"], json({{"provider", "gh"}, {"owner", "acme"}, {"name", "api"}}));
  EXPECT_EQ(exchanged["actor"]["name"], "ci:" + issuer.url()) << "the actor is the CI issuer";
  EXPECT_EQ(got[0].body.find(r.json()["data"]["token"].get<std::string>()), std::string::npos) << "never a secret";
  EXPECT_EQ(created["event"], "token.created");
  EXPECT_EQ(created["token"]["id"], made.id);
}

}  // namespace
}  // namespace rt::test
