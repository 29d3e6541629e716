// Organization webhooks against a real repotokensd and a real receiver (support/webhook_receiver.h): the
// API refuses bad input naming the field and never shows a secret; each token event arrives for its action,
// signed with the webhook's secret; a receiver that fails for a while gets every event once it recovers,
// each exactly once by delivery id and in order; an event committed before a kill -9 is delivered after the
// restart; an event undeliverable for the whole retry window marks the webhook failing (listing, /metrics).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <map>
#include <set>

#include "core/secret.h"
#include "support/api_fixture.h"
#include "support/webhook_receiver.h"

namespace rt::test {
namespace {

const std::string kSecret = "a-webhook-secret-0123456789";

std::string hmac_hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  return to_hex(std::span<const std::uint8_t>(mac, len));
}

// Short retries so that the tests take seconds, not hours.
ServerOptions fast_retries(std::vector<std::string> more = {}) {
  ServerOptions o;
  o.extra_args = {"--webhook-poll-interval", "0.1", "--webhook-retry-base", "0.5", "--webhook-retry-max", "1",
                  "--webhook-timeout", "2"};
  o.extra_args.insert(o.extra_args.end(), more.begin(), more.end());
  return o;
}

class Webhooks : public ::testing::Test {
 protected:
  explicit Webhooks(ServerOptions options = fast_retries()) : server(std::move(options)) {}
  WebhookReceiver receiver;
  ServerProcess server;
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api"});
  std::string hooks() const { return org_path("gh", "acme") + "/webhooks"; }

  nlohmann::json add_hook(std::vector<std::string> events = {"token.created", "token.revoked", "token.leaked"}) {
    auto r = http.post(hooks(), {{"url", receiver.url()}, {"secret", kSecret}, {"events", events}},
                       {api_token(w.admin.token)});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json()["data"];
  }
  // The requests the receiver answered with success, in arrival order.
  std::vector<ReceivedWebhook> accepted() const {
    std::vector<ReceivedWebhook> out;
    for (auto& r : receiver.requests())
      if (r.mode == "ok") out.push_back(r);
    return out;
  }
  bool accepted_at_least(size_t n) const {
    return eventually([&] { return accepted().size() >= n; }, std::chrono::seconds(30));
  }
};

TEST_F(Webhooks, BadInputIsA400NamingTheFieldAndCreatesNothing) {
  const auto as_admin = std::vector<std::string>{api_token(w.admin.token)};
  struct Case {
    nlohmann::json body;
    std::string field;
  };
  const std::vector<Case> cases{
      {{{"url", "ftp://hooks.example/x"}, {"secret", kSecret}, {"events", {"token.created"}}}, "url"},
      {{{"url", "hooks.example/x"}, {"secret", kSecret}, {"events", {"token.created"}}}, "url"},
      {{{"url", "https://"}, {"secret", kSecret}, {"events", {"token.created"}}}, "url"},
      {{{"secret", kSecret}, {"events", {"token.created"}}}, "url"},
      {{{"url", receiver.url()}, {"secret", kSecret}, {"events", {"token.created", "token.exploded"}}}, "events"},
      {{{"url", receiver.url()}, {"secret", kSecret}, {"events", nlohmann::json::array()}}, "events"},
      {{{"url", receiver.url()}, {"secret", kSecret}, {"events", "token.created"}}, "events"},
      {{{"url", receiver.url()}, {"secret", "short"}, {"events", {"token.created"}}}, "secret"},
      {{{"url", receiver.url()}, {"events", {"token.created"}}}, "secret"},
  };
  for (const Case& c : cases) {
    auto r = http.post(hooks(), c.body, as_admin);
    EXPECT_TRUE(IsApiError(r, 400)) << c.body.dump();
    EXPECT_NE(r.body.find(c.field), std::string::npos) << c.body.dump() << " -> " << r.body;
    EXPECT_EQ(r.body.find(kSecret), std::string::npos) << "a secret is never echoed: " << r.body;
  }
  auto listed = http.get(hooks(), as_admin);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json()["pagination"]["total"], 0);

  // Only an organization admin manages webhooks.
  TestUser member = create_user(http, w.admin.token, "member");
  set_org_role(http, w.admin.token, "gh", "acme", member.id, "member");
  EXPECT_TRUE(IsApiError(http.get(hooks(), {api_token(member.token)}), 403));
  EXPECT_TRUE(IsApiError(http.post(hooks(), {{"url", receiver.url()}, {"secret", kSecret}, {"events", {"token.created"}}},
                                   {api_token(member.token)}),
                         403));

  // A good one: 201 with the webhook, never its secret, then listed, then removed.
  auto made = http.post(hooks(), {{"url", receiver.url()}, {"secret", kSecret}, {"events", {"token.created"}}}, as_admin);
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.body.find(kSecret), std::string::npos);
  auto hook = made.json()["data"];
  EXPECT_EQ(hook["url"], receiver.url());
  EXPECT_EQ(hook["events"], nlohmann::json({"token.created"}));
  EXPECT_EQ(hook["failing"], false);
  listed = http.get(hooks(), as_admin);
  EXPECT_EQ(listed.json()["pagination"]["total"], 1);
  EXPECT_EQ(listed.body.find(kSecret), std::string::npos);
  const std::string one = hooks() + "/" + std::to_string(hook["id"].get<long>());
  EXPECT_EQ(http.get(one + "/deliveries", as_admin).status, 200);
  EXPECT_EQ(http.del(one, as_admin).status, 204);
  EXPECT_TRUE(IsApiError(http.del(one, as_admin), 404));
  EXPECT_TRUE(IsApiError(http.get(one + "/deliveries", as_admin), 404));
  EXPECT_TRUE(IsApiError(http.del(hooks() + "/abc", as_admin), 400));
}

TEST_F(Webhooks, EachEventArrivesForItsActionSignedWithTheSecret) {
  auto hook = add_hook();
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "ci"}});
  ASSERT_EQ(http.del(repo_path("gh", "acme", "api") + "/tokens/" + std::to_string(t.id), {api_token(w.admin.token)}).status,
            204);
  auto leaky = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "leaky"}});
  ASSERT_EQ(HttpClient(server.base_url()).post("/api/v3/tokens/revoke", {{"token", leaky.secret}}).status, 204);

  ASSERT_TRUE(accepted_at_least(4)) << server.log();
  auto got = accepted();
  ASSERT_EQ(got.size(), 4u);
  const std::vector<std::pair<std::string, std::int64_t>> expected{
      {"token.created", t.id}, {"token.revoked", t.id}, {"token.created", leaky.id}, {"token.leaked", leaky.id}};
  for (size_t i = 0; i < got.size(); ++i) {
    const ReceivedWebhook& r = got[i];
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(r.path, "/hook");
    EXPECT_EQ(r.headers["x-repotokens-event"], expected[i].first);
    EXPECT_EQ(body["event"], expected[i].first);
    EXPECT_EQ(body["token"]["id"], expected[i].second);
    EXPECT_EQ(body["token"]["kind"], "repository");
    EXPECT_EQ(body["organization"]["name"], "acme");
    EXPECT_EQ(body["repository"]["name"], "api");
    EXPECT_TRUE(body.contains("occurredAt"));
    EXPECT_EQ(r.headers["x-repotokens-signature-256"], "sha256=" + hmac_hex(kSecret, r.body));
    EXPECT_NE(r.headers["x-repotokens-signature-256"], "sha256=" + hmac_hex("another-secret-0123456789", r.body));
    EXPECT_FALSE(r.headers.value("x-repotokens-delivery", "").empty());
    EXPECT_EQ(r.body.find(kSecret), std::string::npos);
    EXPECT_EQ(r.body.find(t.secret), std::string::npos);
    EXPECT_EQ(r.body.find(leaky.secret), std::string::npos);
    EXPECT_EQ(r.body.find("rtkr_"), std::string::npos);
  }
  EXPECT_EQ(nlohmann::json::parse(got[3].body)["actor"]["name"], "leak-report:anyone");

  // The deliveries listing: newest first, delivered once each with the receiver's status.
  auto deliveries = walk_all(http, hooks() + "/" + std::to_string(hook["id"].get<long>()) + "/deliveries",
                             w.admin.token);
  ASSERT_EQ(deliveries.size(), 4u);
  for (auto& d : deliveries) {
    EXPECT_EQ(d["status"], "delivered") << d.dump();
    EXPECT_EQ(d["responseCode"], 204) << d.dump();
    EXPECT_EQ(d["attempts"], 1) << d.dump();
    EXPECT_TRUE(d.contains("latencyMs")) << d.dump();
  }
  EXPECT_EQ(deliveries[0]["event"], "token.leaked");
}

TEST_F(Webhooks, AReceiverDownForAWhileGetsEveryEventOnceInOrderAfterItRecovers) {
  add_hook({"token.created", "token.revoked"});
  receiver.set_mode("fail");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "t" + std::to_string(i)}}).id);
  ASSERT_EQ(http.del(repo_path("gh", "acme", "api") + "/tokens/" + std::to_string(ids[0]), {api_token(w.admin.token)}).status,
            204);
  // Refused at least twice (a first attempt and a retry) before it comes back.
  ASSERT_TRUE(eventually([&] { return receiver.requests().size() >= 2; }, std::chrono::seconds(20))) << server.log();
  EXPECT_TRUE(accepted().empty());
  receiver.set_mode("ok");
  ASSERT_TRUE(accepted_at_least(4)) << server.log();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // nothing more may follow
  auto got = accepted();
  ASSERT_EQ(got.size(), 4u);
  std::set<std::string> delivery_ids;
  std::vector<std::pair<std::string, std::int64_t>> order;
  for (auto& r : got) {
    delivery_ids.insert(r.headers["x-repotokens-delivery"].get<std::string>());
    auto body = nlohmann::json::parse(r.body);
    order.emplace_back(body["event"], body["token"]["id"]);
  }
  EXPECT_EQ(delivery_ids.size(), 4u) << "each event delivered exactly once";
  const std::vector<std::pair<std::string, std::int64_t>> expected{
      {"token.created", ids[0]}, {"token.created", ids[1]}, {"token.created", ids[2]}, {"token.revoked", ids[0]}};
  EXPECT_EQ(order, expected);
  // A refused attempt carried the same delivery id as the accepted one (the id is stable across retries).
  const auto all = receiver.requests();
  EXPECT_EQ(all.front().headers["x-repotokens-delivery"], got.front().headers["x-repotokens-delivery"]);
}

TEST_F(Webhooks, AnEventCommittedBeforeAKill9IsDeliveredAfterTheRestart) {
  add_hook({"token.created"});
  receiver.set_mode("fail");
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "ci"}});
  ASSERT_TRUE(eventually([&] { return !receiver.requests().empty(); })) << server.log();
  server.kill9();
  receiver.set_mode("ok");
  server.restart();
  ASSERT_TRUE(accepted_at_least(1)) << server.log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto got = accepted();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(got[0].body)["token"]["id"], t.id);
}

TEST_F(Webhooks, TheCliAddsListsShowsDeliveriesAndRemovesWithoutEverPrintingTheSecret) {
  auto cli = [&](std::vector<std::string> args, const std::string& stdin_text = {}) {
    std::vector<std::string> argv = {REPOTOKENS_BIN, "webhooks"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* a : {"--api-url", "", "--provider", "gh", "--org", "acme"}) argv.push_back(a);
    argv[argv.size() - 5] = server.base_url();
    return run_command(argv, stdin_text, {"CODACY_API_TOKEN=" + w.admin.token, "NO_COLOR=1"});
  };
  auto added = cli({"add", "--url", receiver.url(), "--event", "token.created"}, kSecret + "\n");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_NE(added.out.find("added webhook"), std::string::npos) << added.out;
  auto refused = cli({"add", "--url", "ftp://x/", "--event", "token.created"}, kSecret + "\n");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("url"), std::string::npos) << refused.err;
  create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "ci"}});
  ASSERT_TRUE(accepted_at_least(1)) << server.log();
  auto listed = cli({"list", "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto hooks_json = nlohmann::json::parse(listed.out);
  ASSERT_EQ(hooks_json.size(), 1u) << listed.out;
  const std::string id = std::to_string(hooks_json[0]["id"].get<long>());
  auto deliveries = cli({"deliveries", "--id", id, "--format", "json"});
  ASSERT_EQ(deliveries.exit_code, 0) << deliveries.err;
  EXPECT_TRUE(eventually([&] {
    auto d = nlohmann::json::parse(cli({"deliveries", "--id", id, "--format", "json"}).out);
    return d.size() == 1 && d[0]["status"] == "delivered";
  }));
  for (const CommandResult& r : {added, listed, deliveries}) {
    EXPECT_EQ(r.out.find(kSecret), std::string::npos);
    EXPECT_EQ(r.err.find(kSecret), std::string::npos);
  }
  ASSERT_EQ(cli({"remove", "--id", id}).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(cli({"list", "--format", "json"}).out).size(), 0u);
  EXPECT_NE(cli({"add", "--url", receiver.url(), "--event", "token.created"}, "").exit_code, 0) << "no secret on stdin";
}

TEST_F(Webhooks, AReceiverThatHangsTimesOutAndIsRetried) {
  auto hook = add_hook({"token.created"});
  receiver.set_mode("hang");
  create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "ci"}});
  const std::string deliveries = hooks() + "/" + std::to_string(hook["id"].get<long>()) + "/deliveries";
  // --webhook-timeout 2: the attempt ends as a timeout, recorded with its error, and is retried.
  ASSERT_TRUE(eventually(
      [&] {
        auto d = http.get(deliveries, {api_token(w.admin.token)}).json()["data"];
        return d.size() == 1 && d[0]["attempts"].get<int>() >= 1;
      },
      std::chrono::seconds(20)))
      << server.log();
  auto d = http.get(deliveries, {api_token(w.admin.token)}).json()["data"][0];
  EXPECT_EQ(d["status"], "retrying") << d.dump();
  EXPECT_NE(d.value("error", "").find("imeout"), std::string::npos) << d.dump();
  EXPECT_GE(d["latencyMs"].get<int>(), 1500) << d.dump();
  receiver.set_mode("ok");
  ASSERT_TRUE(accepted_at_least(1)) << server.log();
  EXPECT_TRUE(eventually([&] {
    return http.get(deliveries, {api_token(w.admin.token)}).json()["data"][0]["status"] == "delivered";
  }));
}

class WebhooksShortWindow : public Webhooks {
 protected:
  WebhooksShortWindow() : Webhooks(fast_retries({"--webhook-retry-window", "2"})) {}
};

TEST_F(WebhooksShortWindow, AnEventUndeliverableForTheWholeWindowMarksTheWebhookFailing) {
  auto hook = add_hook({"token.created"});
  receiver.set_mode("fail");
  create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "ci"}});
  ASSERT_TRUE(eventually(
      [&] { return http.get(hooks(), {api_token(w.admin.token)}).json()["data"][0]["failing"] == true; },
      std::chrono::seconds(30)))
      << server.log();
  auto deliveries = http.get(hooks() + "/" + std::to_string(hook["id"].get<long>()) + "/deliveries",
                             {api_token(w.admin.token)}).json()["data"];
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0]["status"], "failed");
  EXPECT_EQ(deliveries[0]["responseCode"], 500);
  EXPECT_GE(deliveries[0]["attempts"].get<int>(), 2);
  EXPECT_NE(http.get("/metrics").body.find("repotokens_webhooks_failing 1"), std::string::npos);
  // A later event that gets through clears the mark.
  receiver.set_mode("ok");
  create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "second"}});
  EXPECT_TRUE(eventually(
      [&] { return http.get(hooks(), {api_token(w.admin.token)}).json()["data"][0]["failing"] == false; },
      std::chrono::seconds(30)));
}

}  // namespace
}  // namespace rt::test
