// Two repotokensd nodes on one throwaway PostgreSQL, both running the webhook delivery worker and the
// expiry scheduler: every event reaches the receiver exactly once (by X-Repotokens-Delivery) and in the order
// the events happened, whichever node made the change, because claims skip locked rows and lease what they
// take; every expiry notice is emitted once although both nodes scan (one at a time, by an advisory lock,
// marking each notice sent in the transaction that writes it). Skips visibly without the PostgreSQL binaries.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "support/api_fixture.h"
#include "support/pg_redis.h"
#include "support/webhook_receiver.h"

namespace rt::test {
namespace {

// Two nodes on one new PostgreSQL database, an instance admin, gh/acme with repository api, and a webhook
// of acme subscribed to `events`.
struct TwoNodes {
  explicit TwoNodes(const std::vector<std::string>& events, std::vector<std::string> more_args = {}) {
    const std::string db = pg.create_database();
    const std::string secret = write_secret_file(dir.path()).string();
    CommandResult migrated = run_command({REPOTOKENSD_BIN, "admin", "migrate", "--db", db});
    EXPECT_EQ(migrated.exit_code, 0) << migrated.err;
    ServerOptions o;
    o.db_url = db;
    o.extra_args = {"--secret-file", secret, "--webhook-poll-interval", "0.05", "--webhook-retry-base", "0.5",
                    "--webhook-retry-max", "1"};
    o.extra_args.insert(o.extra_args.end(), more_args.begin(), more_args.end());
    a = std::make_unique<ServerProcess>(o);
    b = std::make_unique<ServerProcess>(o);
    http_a = std::make_unique<HttpClient>(a->base_url());
    http_b = std::make_unique<HttpClient>(b->base_url());
    CommandResult made = run_command({REPOTOKENSD_BIN, "admin", "create-user", "--db", db, "--secret-file", secret,
                                      "--name", "root", "--instance-admin"});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    admin = made.out.substr(0, made.out.find('\n'));
    EXPECT_EQ(http_a->post("/api/v3/organizations", {{"provider", "gh"}, {"name", "acme"}}, {api_token(admin)}).status,
              200);
    add_repository(*http_a, admin, "gh", "acme", "api");
    auto hook = http_b->post(org_path("gh", "acme") + "/webhooks",
                             {{"url", receiver.url()}, {"secret", "a-webhook-secret-0123456789"}, {"events", events}},
                             {api_token(admin)});
    EXPECT_EQ(hook.status, 201) << hook.body;
  }
  std::string logs() const { return a->log() + b->log(); }

  PostgresServer pg;
  TempDir dir;
  WebhookReceiver receiver;
  std::unique_ptr<ServerProcess> a, b;
  std::unique_ptr<HttpClient> http_a, http_b;
  std::string admin;
};

TEST(WebhooksTwoNodes, EachEventIsDeliveredOnceInOrderWhicheverNodeMadeIt) {
  RT_REQUIRE_POSTGRES();
  TwoNodes nodes({"token.created"});
  HttpClient& http_a = *nodes.http_a;
  HttpClient& http_b = *nodes.http_b;
  const std::string& admin = nodes.admin;
  WebhookReceiver& receiver = nodes.receiver;

  constexpr int kTokens = 40;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kTokens; ++i)
    ids.push_back(create_repository_token(i % 2 ? http_a : http_b, admin, "gh", "acme", "api",
                                          {{"name", "t" + std::to_string(i)}})
                      .id);
  ASSERT_TRUE(eventually([&] { return receiver.requests().size() >= kTokens; }, std::chrono::seconds(60)))
      << nodes.logs();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a duplicate would arrive meanwhile
  auto got = receiver.requests();
  ASSERT_EQ(got.size(), static_cast<size_t>(kTokens));
  std::set<std::string> delivery_ids;
  std::vector<std::int64_t> order;
  for (auto& r : got) {
    delivery_ids.insert(r.headers["x-repotokens-delivery"].get<std::string>());
    order.push_back(nlohmann::json::parse(r.body)["token"]["id"].get<std::int64_t>());
  }
  EXPECT_EQ(delivery_ids.size(), static_cast<size_t>(kTokens)) << "each event exactly once";
  EXPECT_EQ(order, ids) << "in the order the tokens were made";
}

TEST(WebhooksTwoNodes, EachExpiryNoticeIsEmittedOnceThoughBothNodesScan) {
  RT_REQUIRE_POSTGRES();
  TwoNodes nodes({"token.expiring", "token.expired"},
                 {"--webhook-expiry-notices", "6s,3s", "--webhook-expiry-scan-interval", "0.05"});
  constexpr int kTokens = 10;
  std::set<std::int64_t> ids;
  for (int i = 0; i < kTokens; ++i)
    ids.insert(create_repository_token(i % 2 ? *nodes.http_a : *nodes.http_b, nodes.admin, "gh", "acme", "api",
                                       {{"name", "t" + std::to_string(i)}, {"expiresAt", rfc3339_from_now(8)}})
                   .id);
  constexpr size_t kNotices = 3 * kTokens;  // 6 s, 3 s, expired
  ASSERT_TRUE(eventually([&] { return nodes.receiver.requests().size() >= kNotices; }, std::chrono::seconds(40)))
      << nodes.logs();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a second emission would arrive meanwhile
  auto got = nodes.receiver.requests();
  ASSERT_EQ(got.size(), kNotices) << nodes.logs();
  std::map<std::int64_t, std::vector<std::string>> by_token;
  for (auto& r : got) {
    auto body = nlohmann::json::parse(r.body);
    by_token[body["token"]["id"].get<std::int64_t>()].push_back(
        body["event"].get<std::string>() +
        (body.contains("noticeWindowSeconds") ? "/" + std::to_string(body["noticeWindowSeconds"].get<int>()) : ""));
  }
  ASSERT_EQ(by_token.size(), ids.size());
  for (auto& [id, notices] : by_token) {
    EXPECT_TRUE(ids.count(id)) << id;
    EXPECT_EQ(notices, (std::vector<std::string>{"token.expiring/6", "token.expiring/3", "token.expired"})) << id;
  }
}

}  // namespace
}  // namespace rt::test
