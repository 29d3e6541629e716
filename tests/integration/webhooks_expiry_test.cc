// Expiry notices against a real repotokensd and the real receiver (support/webhook_receiver.h), with
// windows of seconds instead of days (--webhook-expiry-notices 6s,3s): a repository token and an account
// token each get token.expiring once per window and token.expired once, in that order; a token made inside
// both windows gets only the smaller window's notice; a long-lived token says nothing. On both backends.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/api_fixture.h"
#include "support/webhook_receiver.h"

namespace rt::test {
namespace {

const std::string kSecret = "a-webhook-secret-0123456789";

ServerOptions short_windows() {
  ServerOptions o;
  o.extra_args = {"--webhook-poll-interval", "0.1", "--webhook-expiry-notices", "6s,3s",
                  "--webhook-expiry-scan-interval", "0.2"};
  return o;
}

// "kind:id" -> the notices it got, in arrival order, as "token.expiring/6", "token.expiring/3", "token.expired".
std::map<std::string, std::vector<std::string>> notices_by_token(const std::vector<ReceivedWebhook>& got) {
  std::map<std::string, std::vector<std::string>> out;
  for (const ReceivedWebhook& r : got) {
    auto body = nlohmann::json::parse(r.body);
    std::string notice = body["event"].get<std::string>();
    EXPECT_EQ(r.headers["x-repotokens-event"], notice);
    if (body.contains("noticeWindowSeconds")) notice += "/" + std::to_string(body["noticeWindowSeconds"].get<int>());
    EXPECT_FALSE(body.contains("actor")) << "the scheduler is nobody's action: " << r.body;
    EXPECT_EQ(body["organization"]["name"], "acme");
    out[body["token"]["kind"].get<std::string>() + ":" + std::to_string(body["token"]["id"].get<std::int64_t>())]
        .push_back(notice);
  }
  return out;
}

TEST(WebhooksExpiry, EachWindowIsAnnouncedOnceThenTheExpiryOnce) {
  WebhookReceiver receiver;
  ServerProcess server(short_windows());
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api"});
  const auto as_admin = std::vector<std::string>{api_token(w.admin.token)};
  auto hook = http.post(org_path("gh", "acme") + "/webhooks",
                        {{"url", receiver.url()}, {"secret", kSecret}, {"events", {"token.expiring", "token.expired"}}},
                        as_admin);
  ASSERT_EQ(hook.status, 201) << hook.body;

  auto soon = create_repository_token(http, w.admin.token, "gh", "acme", "api",
                                      {{"name", "soon"}, {"expiresAt", rfc3339_from_now(9)}});
  auto inside = create_repository_token(http, w.admin.token, "gh", "acme", "api",
                                        {{"name", "inside"}, {"expiresAt", rfc3339_from_now(2)}});
  auto later = create_repository_token(http, w.admin.token, "gh", "acme", "api",
                                       {{"name", "later"}, {"expiresAt", rfc3339_from_now(300 * 86400)}});
  // An account token of the organization's admin: its notices reach the organizations its owner is in.
  auto account = http.post("/api/v3/user/tokens", {{"expiresAt", rfc3339_from_now(9)}}, as_admin);
  ASSERT_EQ(account.status, 200) << account.body;
  const std::int64_t account_id = account.json()["id"].get<std::int64_t>();

  // 3 + 2 + 3 notices; then long enough for a repeat to show.
  ASSERT_TRUE(eventually([&] { return receiver.requests().size() >= 8; }, std::chrono::seconds(30))) << server.log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto got = receiver.requests();
  ASSERT_EQ(got.size(), 8u) << server.log();
  std::set<std::string> delivery_ids;
  for (auto& r : got) delivery_ids.insert(r.headers["x-repotokens-delivery"].get<std::string>());
  EXPECT_EQ(delivery_ids.size(), got.size()) << "each notice is one event";

  const std::vector<std::string> full{"token.expiring/6", "token.expiring/3", "token.expired"};
  auto by_token = notices_by_token(got);
  EXPECT_EQ(by_token["repository:" + std::to_string(soon.id)], full);
  EXPECT_EQ(by_token["account:" + std::to_string(account_id)], full);
  EXPECT_EQ(by_token["repository:" + std::to_string(inside.id)],
            (std::vector<std::string>{"token.expiring/3", "token.expired"}))
      << "a token made inside both windows gets the smaller one's notice only";
  EXPECT_EQ(by_token.count("repository:" + std::to_string(later.id)), 0u);
  for (auto& r : got) {
    if (nlohmann::json::parse(r.body)["token"]["kind"] == "repository") {
      EXPECT_EQ(nlohmann::json::parse(r.body)["repository"]["name"], "api") << r.body;
    }
  }
}

TEST(WebhooksExpiry, BadWindowsAreRefusedNamingTheOption) {
  for (const std::string bad : {"1d,7d", "7d,7d", "7", "7w", "0s", "-1d", "7d,,1d", "400d"}) {
    CommandResult r = run_command({REPOTOKENSD_BIN, "serve", "--db", "sqlite:/nonexistent/x.db", "--listen",
                                   "127.0.0.1:0", "--webhook-expiry-notices", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--webhook-expiry-notices"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("longest first"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace rt::test
