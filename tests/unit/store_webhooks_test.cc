// Shared Store suite: organization webhooks and their outbox — an event row per subscribed webhook,
// written with the token change that causes it (and not when the change is refused), with a stable
// delivery id and a body that names the token but holds no secret; expiry notices written once per window
// from the due tokens only; claims of a webhook's run of events, in order, never past an undelivered one.
#include <nlohmann/json.hpp>

#include <set>

#include "store_test.h"

namespace rt::testing {
namespace {

constexpr UnixTime kNow = 1'800'000'000;


TEST_P(StoreTest, CreatesListsAndDeletesWebhooksPerOrganization) {
  User u = add_user("owner");
  Organization acme = add_org("acme", u.id);
  Organization other = add_org("other", u.id);
  std::vector<Id> ids;
  for (int i = 0; i < 3; ++i) {
    NewWebhook w{.org_id = acme.id, .url = "https://hooks.example/" + std::to_string(i),
                 .events = {"token.created", "token.leaked"}, .sealed_secret = "s", .created_at = kNow + i};
    ids.push_back(must(store().create_webhook(w, audit_event(acme.id, "webhook.create"))).id);
  }
  auto p1 = must(store().list_webhooks(acme.id, std::nullopt, 2));
  ASSERT_EQ(p1.items.size(), 2u);
  EXPECT_TRUE(p1.more);
  EXPECT_EQ(p1.total, 3);
  EXPECT_EQ(p1.items[0].id, ids[0]);
  EXPECT_EQ(p1.items[0].url, "https://hooks.example/0");
  EXPECT_EQ(p1.items[0].events, (std::vector<std::string>{"token.created", "token.leaked"}));
  EXPECT_EQ(p1.items[0].created_at, kNow);
  EXPECT_FALSE(p1.items[0].failing);
  auto p2 = must(store().list_webhooks(acme.id, p1.items.back().id, 2));
  ASSERT_EQ(p2.items.size(), 1u);
  EXPECT_FALSE(p2.more);
  EXPECT_EQ(must(store().list_webhooks(other.id, std::nullopt, 10)).total, 0);

  // Another organization's webhook is not found through this one, and nothing changes.
  EXPECT_EQ(store().delete_webhook(other.id, ids[1], audit_event(other.id, "webhook.delete")).error().kind,
            ErrorKind::not_found);
  EXPECT_EQ(store().list_webhook_deliveries(other.id, ids[1], std::nullopt, 10).error().kind, ErrorKind::not_found);
  const auto audited = audit_count(acme.id);
  ASSERT_TRUE(store().delete_webhook(acme.id, ids[1], audit_event(acme.id, "webhook.delete")).ok());
  EXPECT_EQ(audit_count(acme.id), audited + 1);
  EXPECT_EQ(must(store().list_webhooks(acme.id, std::nullopt, 10)).total, 2);
  EXPECT_EQ(store().delete_webhook(acme.id, ids[1], audit_event(acme.id, "webhook.delete")).error().kind,
            ErrorKind::not_found);
  NewWebhook orphan{.org_id = 999999, .url = "https://x/", .events = {"token.created"}, .sealed_secret = "s"};
  EXPECT_EQ(store().create_webhook(orphan, audit_event(std::nullopt, "webhook.create")).error().kind,
            ErrorKind::not_found);
}

TEST_P(StoreTest, TokenChangesWriteOneOutboxRowPerSubscribedWebhook) {
  User u = add_user("owner");
  Organization acme = add_org("acme", u.id);
  Organization other = add_org("other", u.id);
  Repository api = add_repo(acme.id, "api");
  auto hook = [&](Id org, std::vector<std::string> events) {
    NewWebhook w{.org_id = org, .url = "http://127.0.0.1:9/", .events = std::move(events), .sealed_secret = "s",
                 .created_at = kNow};
    return must(store().create_webhook(w, audit_event(org, "webhook.create")));
  };
  Webhook all = hook(acme.id, {"token.created", "token.revoked", "token.leaked"});
  Webhook created_only = hook(acme.id, {"token.created"});
  Webhook elsewhere = hook(other.id, {"token.created", "token.revoked", "token.leaked"});
  auto rows = [&](const Webhook& w) {
    return must(store().list_webhook_deliveries(w.org_id, w.id, std::nullopt, 100)).items;
  };

  RepositoryToken t = must(add_token(api.id, "ci", 1, kNow, kNow + 86400));
  ASSERT_EQ(rows(all).size(), 1u);
  ASSERT_EQ(rows(created_only).size(), 1u);
  EXPECT_TRUE(rows(elsewhere).empty());
  WebhookDelivery d = rows(all)[0];
  EXPECT_EQ(d.event, "token.created");
  EXPECT_EQ(d.attempts, 0);
  EXPECT_EQ(d.next_attempt_at, 1'700'000'000);  // the audit entry's time: due at once
  EXPECT_EQ(d.delivered_at, std::nullopt);
  EXPECT_EQ(d.event_id, rows(created_only)[0].event_id) << "one event, one id, whichever webhook gets it";
  EXPECT_NE(d.delivery_id, rows(created_only)[0].delivery_id) << "a delivery id per webhook";
  auto body = nlohmann::json::parse(d.body);
  EXPECT_EQ(body["id"], d.event_id);
  EXPECT_EQ(body["event"], "token.created");
  EXPECT_EQ(body["occurredAt"], format_rfc3339(1'700'000'000));
  EXPECT_EQ(body["organization"]["name"], "acme");
  EXPECT_EQ(body["organization"]["provider"], "gh");
  EXPECT_EQ(body["repository"]["name"], "api");
  EXPECT_EQ(body["token"]["id"], t.id);
  EXPECT_EQ(body["token"]["name"], "ci");
  EXPECT_EQ(body["token"]["kind"], "repository");
  EXPECT_EQ(body["token"]["expiresAt"], format_rfc3339(kNow + 86400));
  EXPECT_EQ(body["actor"]["name"], "user:test");

  // A refused creation (same live name) writes nothing.
  EXPECT_EQ(add_token(api.id, "ci", 2, kNow, kNow + 86400).error().kind, ErrorKind::conflict);
  EXPECT_EQ(rows(all).size(), 1u);

  // Revoking: one event per deleted token, none for an id that is not the repository's.
  RepositoryToken t2 = must(add_token(api.id, "deploy", 3, kNow, kNow + 86400));
  const Id revoke[] = {t.id, t2.id, 424242};
  EXPECT_EQ(must(store().delete_repository_tokens(api.id, revoke, audit_event(acme.id, "repository.token.delete"))), 2);
  auto after = rows(all);  // newest first
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after[0].event, "token.revoked");
  EXPECT_EQ(after[1].event, "token.revoked");
  EXPECT_EQ(after[2].event, "token.created");
  std::set<std::string> revoked_names{nlohmann::json::parse(after[0].body)["token"]["name"],
                                      nlohmann::json::parse(after[1].body)["token"]["name"]};
  EXPECT_EQ(revoked_names, (std::set<std::string>{"ci", "deploy"}));
  EXPECT_NE(after[0].event_id, after[1].event_id);
  EXPECT_EQ(rows(created_only).size(), 2u) << "not subscribed to token.revoked";

  // Revoked as leaked: announced as token.leaked.
  RepositoryToken t3 = must(add_token(api.id, "leaky", 4, kNow, kNow + 86400));
  const Id leaked[] = {t3.id};
  AuditEvent leak = audit_event(acme.id, "token.leaked");
  leak.actor = "leak-report:github";
  EXPECT_EQ(must(store().delete_repository_tokens(api.id, leaked, leak)), 1);
  auto newest = rows(all)[0];
  EXPECT_EQ(newest.event, "token.leaked");
  EXPECT_EQ(nlohmann::json::parse(newest.body)["actor"]["name"], "leak-report:github");

  // An account token's leak, audited in the organization.
  AuditEvent account_leak = audit_event(acme.id, "token.leaked");
  account_leak.account_token = AuditEvent::AccountTokenSubject{.token_id = 77, .owner = "ada", .expires_at = std::nullopt};
  ASSERT_TRUE(store().append_audit(account_leak).ok());
  newest = rows(all)[0];
  EXPECT_EQ(newest.event, "token.leaked");
  auto account_body = nlohmann::json::parse(newest.body);
  EXPECT_EQ(account_body["token"]["kind"], "account");
  EXPECT_EQ(account_body["token"]["id"], 77);
  EXPECT_EQ(account_body["token"]["owner"], "ada");
  EXPECT_FALSE(account_body["token"].contains("expiresAt"));
  EXPECT_FALSE(account_body.contains("repository"));
  // An ordinary audit entry announces nothing.
  ASSERT_TRUE(store().append_audit(audit_event(acme.id, "token.leaked")).ok());
  EXPECT_EQ(rows(all).size(), 7u);

  // The outbox survives a reopen; deleting the webhook takes its rows with it.
  reopen();
  EXPECT_EQ(rows(all).size(), 7u);
  ASSERT_TRUE(store().delete_webhook(acme.id, all.id, audit_event(acme.id, "webhook.delete")).ok());
  EXPECT_EQ(store().list_webhook_deliveries(acme.id, all.id, std::nullopt, 10).error().kind, ErrorKind::not_found);
}

TEST_P(StoreTest, ExpiryNoticesAreWrittenOncePerWindowForTheDueTokensOnly) {
  User u = add_user("owner");
  Organization acme = add_org("acme", u.id);
  Repository api = add_repo(acme.id, "api");
  NewWebhook w{.org_id = acme.id, .url = "http://127.0.0.1:9/", .events = {"token.expiring", "token.expired"},
               .sealed_secret = "s", .created_at = kNow};
  Webhook hook = must(store().create_webhook(w, audit_event(acme.id, "webhook.create")));
  const std::vector<std::int64_t> windows{7 * 86400, 86400};
  constexpr UnixTime kDay = 86400;
  RepositoryToken far = must(add_token(api.id, "far", 1, kNow, kNow + 10 * kDay));
  RepositoryToken week = must(add_token(api.id, "week", 2, kNow, kNow + 3 * kDay));
  RepositoryToken hour = must(add_token(api.id, "hour", 3, kNow, kNow + 3600));
  AccountToken account = must(store().create_account_token(u.id, test_hash(4), kNow, kNow + 2 * kDay));
  // (token id, kind, event, window) of each outbox row, oldest first.
  auto notices = [&] {
    std::vector<std::string> out;
    auto items = must(store().list_webhook_deliveries(acme.id, hook.id, std::nullopt, 100)).items;
    for (auto it = items.rbegin(); it != items.rend(); ++it) {
      auto body = nlohmann::json::parse(it->body);
      out.push_back(body["token"]["kind"].get<std::string>() + std::to_string(body["token"]["id"].get<Id>()) + " " +
                    it->event + (body.contains("noticeWindowSeconds") ? " " + body["noticeWindowSeconds"].dump() : ""));
    }
    return out;
  };
  const std::string r = "repository", a = "account";
  auto id = [](Id v) { return std::to_string(v); };

  EXPECT_EQ(must(store().announce_token_expiry(kNow, windows, 100)), 3);
  EXPECT_EQ(notices(), (std::vector<std::string>{r + id(hour.id) + " token.expiring 86400",
                                                 r + id(week.id) + " token.expiring 604800",
                                                 a + id(account.id) + " token.expiring 604800"}));
  EXPECT_EQ(must(store().announce_token_expiry(kNow + 60, windows, 100)), 0) << "nothing is due twice";
  EXPECT_EQ(notices().size(), 3u);

  // Two days later: the hour token expired, the account token expires now, the week token is a day away.
  EXPECT_EQ(must(store().announce_token_expiry(kNow + 2 * kDay, windows, 100)), 3);
  auto later = notices();
  ASSERT_EQ(later.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(later.begin() + 3, later.end()),
            (std::vector<std::string>{r + id(hour.id) + " token.expired", r + id(week.id) + " token.expiring 86400",
                                      a + id(account.id) + " token.expired"}));
  // Long after everything: the far token, never announced, gets only its expiry; nothing else is said.
  EXPECT_EQ(must(store().announce_token_expiry(kNow + 30 * kDay, windows, 100)), 2);
  auto last = notices();
  ASSERT_EQ(last.size(), 8u);
  EXPECT_EQ(std::vector<std::string>(last.begin() + 6, last.end()),
            (std::vector<std::string>{r + id(far.id) + " token.expired", r + id(week.id) + " token.expired"}));
  EXPECT_EQ(must(store().announce_token_expiry(kNow + 60 * kDay, windows, 100)), 0);
  // The batch bound holds: one token per lookup.
  for (std::uint32_t i = 0; i < 3; ++i) must(add_token(api.id, "b" + std::to_string(i), 10 + i, kNow, kNow + 3600));
  EXPECT_LE(must(store().announce_token_expiry(kNow, windows, 1)), 2);
}

TEST_P(StoreTest, AClaimTakesAWebhooksRunInOrderAndNeverPassesAnUndeliveredEvent) {
  User u = add_user("owner");
  Organization acme = add_org("acme", u.id);
  Repository api = add_repo(acme.id, "api");
  NewWebhook w{.org_id = acme.id, .url = "http://127.0.0.1:9/", .events = {"token.created"}, .sealed_secret = "s",
               .created_at = kNow};
  Webhook hook = must(store().create_webhook(w, audit_event(acme.id, "webhook.create")));
  std::vector<Id> tokens;
  for (std::uint32_t i = 0; i < 6; ++i)
    tokens.push_back(must(add_token(api.id, "t" + std::to_string(i), i + 1, kNow, kNow + 86400)).id);
  const UnixTime due = 1'700'000'000;  // the events' time (audit_event's)
  auto token_of = [](const DueWebhookEvent& e) { return nlohmann::json::parse(e.delivery.body)["token"]["id"].get<Id>(); };

  auto run = must(store().claim_webhook_events(due, due + 40, 16, 3));
  ASSERT_EQ(run.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(token_of(run[i]), tokens[i]);
    EXPECT_EQ(run[i].delivery.webhook_id, hook.id);
    EXPECT_EQ(run[i].url, "http://127.0.0.1:9/");
  }
  EXPECT_TRUE(must(store().claim_webhook_events(due, due + 40, 16, 3)).empty()) << "the webhook is busy";

  // The first is delivered, the second fails (retry later), the third was not tried.
  std::vector<WebhookAttempt> outcome{
      {.event_row = run[0].delivery.id, .at = due, .delivered = true, .status = 204},
      {.event_row = run[1].delivery.id, .at = due, .delivered = false, .status = 500, .next_attempt_at = due + 100},
      {.event_row = run[2].delivery.id, .released = true, .at = due, .next_attempt_at = due}};
  ASSERT_TRUE(store().record_webhook_attempts(outcome).ok());
  EXPECT_TRUE(must(store().claim_webhook_events(due + 1, due + 41, 16, 3)).empty())
      << "nothing passes the event waiting for its retry";
  auto again = must(store().claim_webhook_events(due + 100, due + 140, 16, 3));
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(token_of(again[0]), tokens[1]);
  EXPECT_EQ(again[0].delivery.attempts, 1);
  EXPECT_EQ(token_of(again[1]), tokens[2]);
  EXPECT_EQ(again[1].delivery.attempts, 0) << "a release is not an attempt";
  EXPECT_EQ(token_of(again[2]), tokens[3]);
}

}  // namespace
}  // namespace rt::testing
