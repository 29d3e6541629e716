// Two repotokensd nodes on one throwaway PostgreSQL, both running the webhook delivery worker: every event
// reaches the receiver exactly once (by X-Repotokens-Delivery) and in the order the events happened,
// whichever node made the change, because claims skip locked rows and lease what they take. Skips visibly
// without the PostgreSQL binaries.
#include <gtest/gtest.h>

#include <set>

#include "support/api_fixture.h"
#include "support/pg_redis.h"
#include "support/webhook_receiver.h"

namespace rt::test {
namespace {

TEST(WebhooksTwoNodes, EachEventIsDeliveredOnceInOrderWhicheverNodeMadeIt) {
  RT_REQUIRE_POSTGRES();
  PostgresServer pg;
  TempDir dir;
  const std::string db = pg.create_database();
  const std::string secret = write_secret_file(dir.path()).string();
  CommandResult migrated = run_command({REPOTOKENSD_BIN, "admin", "migrate", "--db", db});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  ServerOptions o;
  o.db_url = db;
  o.extra_args = {"--secret-file", secret, "--webhook-poll-interval", "0.05", "--webhook-retry-base", "0.5",
                  "--webhook-retry-max", "1"};
  ServerProcess a(o), b(o);
  HttpClient http_a(a.base_url()), http_b(b.base_url());
  CommandResult made = run_command({REPOTOKENSD_BIN, "admin", "create-user", "--db", db, "--secret-file", secret,
                                    "--name", "root", "--instance-admin"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string admin = made.out.substr(0, made.out.find('\n'));
  ASSERT_EQ(http_a.post("/api/v3/organizations", {{"provider", "gh"}, {"name", "acme"}}, {api_token(admin)}).status, 200);
  add_repository(http_a, admin, "gh", "acme", "api");
  WebhookReceiver receiver;
  auto hook = http_b.post(org_path("gh", "acme") + "/webhooks",
                          {{"url", receiver.url()}, {"secret", "a-webhook-secret-0123456789"}, {"events", {"token.created"}}},
                          {api_token(admin)});
  ASSERT_EQ(hook.status, 201) << hook.body;

  constexpr int kTokens = 40;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kTokens; ++i)
    ids.push_back(create_repository_token(i % 2 ? http_a : http_b, admin, "gh", "acme", "api",
                                          {{"name", "t" + std::to_string(i)}})
                      .id);
  ASSERT_TRUE(eventually([&] { return receiver.requests().size() >= kTokens; }, std::chrono::seconds(60)))
      << a.log() << b.log();
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

}  // namespace
}  // namespace rt::test
