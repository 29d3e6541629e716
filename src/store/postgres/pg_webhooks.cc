// PostgreSQL store: organization webhooks, their outbox rows (written beside the token change they
// announce, in its transaction) and the delivery listing.
#include <algorithm>
#include <limits>

#include "store/encodings.h"
#include "store/postgres/pg_rows.h"
#include "store/postgres/postgres_store.h"

namespace rt::postgres {
namespace {

#define RT_PG_WEBHOOK_COLUMNS "w.id, w.org_id, w.url, w.events, w.created_at, w.failing"
#define RT_PG_WEBHOOK_EVENT_COLUMNS                                                                        \
  "e.id, e.webhook_id, e.event_id, e.delivery_id, e.event, e.body, e.created_at, e.attempts, e.next_attempt_at, " \
  "e.last_attempt_at, e.last_status, e.last_error, e.last_latency_ms, e.delivered_at"
#define RT_PG_TIME(x) "to_char(to_timestamp(" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

Webhook read_webhook(const Rows& r, int i) {
  return Webhook{.id = r.int64(i, 0), .org_id = r.int64(i, 1), .url = r.text(i, 2),
                 .events = decode_webhook_events(r.text(i, 3)), .created_at = r.int64(i, 4),
                 .failing = r.boolean(i, 5)};
}

WebhookDelivery read_webhook_event(const Rows& r, int i) {
  auto opt_int = [&](int c) -> std::optional<int> {
    auto v = r.optional_int64(i, c);
    if (!v) return std::nullopt;
    return static_cast<int>(*v);
  };
  return WebhookDelivery{.id = r.int64(i, 0), .webhook_id = r.int64(i, 1), .event_id = r.text(i, 2),
                         .delivery_id = r.text(i, 3), .event = r.text(i, 4), .body = r.text(i, 5),
                         .created_at = r.int64(i, 6), .attempts = static_cast<int>(r.int64(i, 7)),
                         .next_attempt_at = r.optional_int64(i, 8), .last_attempt_at = r.optional_int64(i, 9),
                         .last_status = opt_int(10), .last_error = r.text(i, 11), .last_latency_ms = opt_int(12),
                         .delivered_at = r.optional_int64(i, 13)};
}

}  // namespace

// $1 event id prefix, $2 event, $3 at, $4 actor, $5 repository id, $6 the tokens (see pg_rows.h).
const char* const kRepositoryTokenEventInsert =
    "INSERT INTO webhook_events(webhook_id, event_id, delivery_id, event, body, created_at, next_attempt_at)"
    " SELECT w.id, $1::text || k.id, $1::text || k.id || '.' || w.id, $2::text,"
    " json_build_object('id', $1::text || k.id, 'event', $2::text, 'occurredAt', " RT_PG_TIME("$3::bigint") ","
    "  'organization', json_build_object('provider', o.provider, 'name', o.name),"
    "  'repository', json_build_object('provider', o.provider, 'owner', o.name, 'name', r.name),"
    "  'token', json_build_object('id', k.id, 'name', k.name, 'kind', 'repository', 'expiresAt', "
    RT_PG_TIME("k.expires_at") "),"
    "  'actor', json_build_object('name', $4::text))::text,"
    " $3::bigint, $3::bigint"
    " FROM repository_tokens k JOIN repositories r ON r.id = k.repository_id"
    " JOIN organizations o ON o.id = r.org_id"
    " JOIN webhooks w ON w.org_id = r.org_id AND strpos(w.events, ',' || $2::text || ',') > 0"
    " WHERE k.repository_id = $5::bigint AND ";

Status enqueue_account_token_event(Connection& c, const AuditEvent& audit) {
  if (!audit.account_token || !audit.org_id || audit.action != "token.leaked") return ok_status();
  const AuditEvent::AccountTokenSubject& t = *audit.account_token;
  const std::string event_id = new_webhook_event_id_prefix() + std::to_string(t.token_id);
  // json_strip_nulls drops an absent expiresAt, as SQLite's CASE does.
  RT_TRY(Rows r, c.exec(
      "INSERT INTO webhook_events(webhook_id, event_id, delivery_id, event, body, created_at, next_attempt_at)"
      " SELECT w.id, $1::text, $1::text || '.' || w.id, 'token.leaked',"
      " json_build_object('id', $1::text, 'event', 'token.leaked', 'occurredAt', " RT_PG_TIME("$2::bigint") ","
      "  'organization', json_build_object('provider', o.provider, 'name', o.name),"
      "  'token', json_strip_nulls(json_build_object('id', $4::bigint, 'name', $5::text, 'kind', 'account',"
      "   'owner', $5::text, 'expiresAt', " RT_PG_TIME("$6::bigint") ")),"
      "  'actor', json_build_object('name', $3::text))::text,"
      " $2::bigint, $2::bigint"
      " FROM webhooks w JOIN organizations o ON o.id = w.org_id"
      " WHERE w.org_id = $7::bigint AND strpos(w.events, ',token.leaked,') > 0 ORDER BY w.id",
      {event_id, audit.at, audit.actor, t.token_id, t.owner, t.expires_at, *audit.org_id}));
  (void)r;
  return ok_status();
}

Result<Webhook> PostgresStore::create_webhook(const NewWebhook& w, const AuditEvent& audit) {
  return write<Webhook>([&](Connection& c) -> Result<Webhook> {
    RT_TRY(auto org, c.query_int64("SELECT 1 FROM organizations WHERE id = $1", {w.org_id}));
    if (!org) return not_found("no organization with id " + std::to_string(w.org_id));
    RT_TRY(auto id, c.query_int64("INSERT INTO webhooks(org_id, url, events, secret_sealed, created_at)"
                                  " VALUES ($1, $2, $3, $4, $5) RETURNING id",
                                  {w.org_id, w.url, encode_webhook_events(w.events), w.sealed_secret, w.created_at}));
    RT_TRY_STATUS(insert_audit(c, audit));
    return Webhook{.id = id.value_or(0), .org_id = w.org_id, .url = w.url, .events = w.events,
                   .created_at = w.created_at, .failing = false};
  });
}

Result<Page<Webhook>> PostgresStore::list_webhooks(Id org_id, std::optional<Id> after_id, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return snapshot<Page<Webhook>>([&](Connection& c) -> Result<Page<Webhook>> {
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_WEBHOOK_COLUMNS " FROM webhooks w WHERE w.org_id = $1 AND w.id > $2"
                             " ORDER BY w.id LIMIT $3",
                             {org_id, after_id.value_or(0), limit + 1}));
    auto page = make_page<Webhook>(rows, limit, [](const Rows& r, int i) { return read_webhook(r, i); });
    RT_TRY(auto total, c.query_int64("SELECT count(*) FROM webhooks WHERE org_id = $1", {org_id}));
    page.total = total.value_or(0);
    return page;
  });
}

Status PostgresStore::delete_webhook(Id org_id, Id webhook_id, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(Rows r, c.exec("DELETE FROM webhooks WHERE id = $1 AND org_id = $2", {webhook_id, org_id}));
    if (r.affected() == 0) return not_found("the organization has no webhook with id " + std::to_string(webhook_id));
    return insert_audit(c, audit);
  });
}

Result<Page<WebhookDelivery>> PostgresStore::list_webhook_deliveries(Id org_id, Id webhook_id,
                                                                     std::optional<Id> before_id, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return snapshot<Page<WebhookDelivery>>([&](Connection& c) -> Result<Page<WebhookDelivery>> {
    RT_TRY(auto owned, c.query_int64("SELECT 1 FROM webhooks WHERE id = $1 AND org_id = $2", {webhook_id, org_id}));
    if (!owned) return not_found("the organization has no webhook with id " + std::to_string(webhook_id));
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_WEBHOOK_EVENT_COLUMNS " FROM webhook_events e"
                             " WHERE e.webhook_id = $1 AND e.id < $2 ORDER BY e.id DESC LIMIT $3",
                             {webhook_id, before_id.value_or(std::numeric_limits<Id>::max()), limit + 1}));
    auto page = make_page<WebhookDelivery>(rows, limit, [](const Rows& r, int i) { return read_webhook_event(r, i); });
    RT_TRY(auto total, c.query_int64("SELECT count(*) FROM webhook_events WHERE webhook_id = $1", {webhook_id}));
    page.total = total.value_or(0);
    return page;
  });
}

Result<std::vector<DueWebhookEvent>> PostgresStore::claim_webhook_events(UnixTime now, UnixTime lease_until,
                                                                         int limit) {
  RT_TRY_STATUS(check_limit(limit));
  // SKIP LOCKED: of several nodes claiming at once, each takes rows no other is taking; the lease then keeps
  // them out of every later claim until the attempt is recorded or the lease runs out.
  return write<std::vector<DueWebhookEvent>>([&](Connection& c) -> Result<std::vector<DueWebhookEvent>> {
    RT_TRY(Rows rows, c.exec("WITH claimed AS (SELECT e.id FROM webhook_events e"
                             " WHERE e.next_attempt_at <= $1"
                             " AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.webhook_id = e.webhook_id"
                             "  AND p.id < e.id AND p.next_attempt_at IS NOT NULL)"
                             " ORDER BY e.next_attempt_at, e.id LIMIT $2 FOR UPDATE SKIP LOCKED)"
                             " UPDATE webhook_events e SET next_attempt_at = $3 FROM claimed, webhooks w"
                             " WHERE e.id = claimed.id AND w.id = e.webhook_id"
                             " RETURNING " RT_PG_WEBHOOK_EVENT_COLUMNS ", w.url, w.secret_sealed",
                             {now, limit, lease_until}));
    std::vector<DueWebhookEvent> claimed;
    for (int i = 0; i < rows.size(); ++i)
      claimed.push_back(DueWebhookEvent{.delivery = read_webhook_event(rows, i), .url = rows.text(i, 14),
                                        .sealed_secret = rows.text(i, 15)});
    std::sort(claimed.begin(), claimed.end(),
              [](const DueWebhookEvent& a, const DueWebhookEvent& b) { return a.delivery.id < b.delivery.id; });
    return claimed;
  });
}

Status PostgresStore::record_webhook_attempt(const WebhookAttempt& a) {
  return write<Ok>([&](Connection& c) -> Status {
    const std::optional<UnixTime> delivered_at = a.delivered ? std::optional<UnixTime>(a.at) : std::nullopt;
    const std::optional<UnixTime> next = a.delivered ? std::nullopt : a.next_attempt_at;
    RT_TRY(Rows r, c.exec("UPDATE webhook_events SET attempts = attempts + 1, last_attempt_at = $2, last_status = $3,"
                          " last_error = $4, last_latency_ms = $5, delivered_at = $6, next_attempt_at = $7"
                          " WHERE id = $1 RETURNING webhook_id",
                          {a.event_row, a.at, a.status, a.error, a.latency_ms, delivered_at, next}));
    if (r.size() == 0) return ok_status();  // the webhook was removed meanwhile, and its events with it
    if (a.delivered || !next) {
      RT_TRY(Rows w, c.exec("UPDATE webhooks SET failing = $2 WHERE id = $1 AND failing <> $2",
                            {r.int64(0, 0), !a.delivered}));
      (void)w;
    }
    return ok_status();
  });
}

Result<std::int64_t> PostgresStore::count_failing_webhooks() {
  return read<std::int64_t>([&](Connection& c) -> Result<std::int64_t> {
    RT_TRY(auto n, c.query_int64("SELECT count(*) FROM webhooks WHERE failing"));
    return n.value_or(0);
  });
}

}  // namespace rt::postgres
