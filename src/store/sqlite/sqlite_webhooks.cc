// SQLite store: organization webhooks, their outbox rows (written beside the token change they announce,
// in its transaction) and the delivery listing.
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace rt::sqlite {
namespace {

#define RT_WEBHOOK_COLUMNS "w.id, w.org_id, w.url, w.events, w.created_at, w.failing"
#define RT_WEBHOOK_EVENT_COLUMNS                                                                           \
  "e.id, e.webhook_id, e.event_id, e.delivery_id, e.event, e.body, e.created_at, e.attempts, e.next_attempt_at, " \
  "e.last_attempt_at, e.last_status, e.last_error, e.last_latency_ms, e.delivered_at"

#define RT_SQLITE_TIME(x) "strftime('%Y-%m-%dT%H:%M:%SZ', " x ", 'unixepoch')"

Webhook read_webhook(const Rows& r) {
  return Webhook{.id = r.int64(0), .org_id = r.int64(1), .url = r.text(2), .events = decode_webhook_events(r.text(3)),
                 .created_at = r.int64(4), .failing = r.int64(5) != 0};
}

WebhookDelivery read_webhook_event(const Rows& r) {
  auto opt_int = [&](int c) -> std::optional<int> {
    auto v = r.optional_int64(c);
    if (!v) return std::nullopt;
    return static_cast<int>(*v);
  };
  return WebhookDelivery{.id = r.int64(0), .webhook_id = r.int64(1), .event_id = r.text(2), .delivery_id = r.text(3),
                         .event = r.text(4), .body = r.text(5), .created_at = r.int64(6),
                         .attempts = static_cast<int>(r.int64(7)), .next_attempt_at = r.optional_int64(8),
                         .last_attempt_at = r.optional_int64(9), .last_status = opt_int(10), .last_error = r.text(11),
                         .last_latency_ms = opt_int(12), .delivered_at = r.optional_int64(13)};
}

}  // namespace

Status enqueue_repository_token_event(Connection& c, std::string_view event, Id repository_id, Id token_id,
                                      const AuditEvent& audit) {
  const std::string prefix = new_webhook_event_id_prefix();
  // ?1 prefix, ?2 event, ?3 at, ?4 actor, ?5 token id, ?6 repository id
  RT_TRY(int n, c.execute(
      "INSERT INTO webhook_events(webhook_id, event_id, delivery_id, event, body, created_at, next_attempt_at)"
      " SELECT w.id, ?1 || k.id, ?1 || k.id || '.' || w.id, ?2,"
      " json_object('id', ?1 || k.id, 'event', ?2, 'occurredAt', " RT_SQLITE_TIME("?3") ","
      "  'organization', json_object('provider', o.provider, 'name', o.name),"
      "  'repository', json_object('provider', o.provider, 'owner', o.name, 'name', r.name),"
      "  'token', json_object('id', k.id, 'name', k.name, 'kind', 'repository', 'expiresAt', "
      RT_SQLITE_TIME("k.expires_at") "),"
      "  'actor', json_object('name', ?4)),"
      " ?3, ?3"
      " FROM repository_tokens k JOIN repositories r ON r.id = k.repository_id"
      " JOIN organizations o ON o.id = r.org_id"
      " JOIN webhooks w ON w.org_id = r.org_id AND instr(w.events, ',' || ?2 || ',') > 0"
      " WHERE k.id = ?5 AND k.repository_id = ?6 ORDER BY w.id",
      {prefix, event, audit.at, audit.actor, token_id, repository_id}));
  (void)n;
  return ok_status();
}

Status enqueue_account_token_event(Connection& c, const AuditEvent& audit) {
  if (!audit.account_token || !audit.org_id || audit.action != "token.leaked") return ok_status();
  const std::string event_id = new_webhook_event_id_prefix() + std::to_string(audit.account_token->token_id);
  const AuditEvent::AccountTokenSubject& t = *audit.account_token;
  // ?1 event id, ?2 at, ?3 actor, ?4 token id, ?5 owner, ?6 expiry, ?7 organization
  RT_TRY(int n, c.execute(
      "INSERT INTO webhook_events(webhook_id, event_id, delivery_id, event, body, created_at, next_attempt_at)"
      " SELECT w.id, ?1, ?1 || '.' || w.id, 'token.leaked',"
      " json_object('id', ?1, 'event', 'token.leaked', 'occurredAt', " RT_SQLITE_TIME("?2") ","
      "  'organization', json_object('provider', o.provider, 'name', o.name),"
      "  'token', CASE WHEN ?6 IS NULL THEN json_object('id', ?4, 'name', ?5, 'kind', 'account', 'owner', ?5)"
      "   ELSE json_object('id', ?4, 'name', ?5, 'kind', 'account', 'owner', ?5, 'expiresAt', " RT_SQLITE_TIME("?6") ") END,"
      "  'actor', json_object('name', ?3)),"
      " ?2, ?2"
      " FROM webhooks w JOIN organizations o ON o.id = w.org_id"
      " WHERE w.org_id = ?7 AND instr(w.events, ',token.leaked,') > 0 ORDER BY w.id",
      {event_id, audit.at, audit.actor, t.token_id, t.owner, t.expires_at, *audit.org_id}));
  (void)n;
  return ok_status();
}

Result<Webhook> SqliteStore::create_webhook(const NewWebhook& w, const AuditEvent& audit) {
  return write<Webhook>([&](Connection& c) -> Result<Webhook> {
    RT_TRY(auto org, c.query_int64("SELECT 1 FROM organizations WHERE id = ?1", {w.org_id}));
    if (!org) return not_found("no organization with id " + std::to_string(w.org_id));
    RT_TRY(int n, c.execute("INSERT INTO webhooks(org_id, url, events, secret_sealed, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                            {w.org_id, w.url, encode_webhook_events(w.events), w.sealed_secret, w.created_at}));
    (void)n;
    Id id = c.last_insert_id();
    RT_TRY_STATUS(insert_audit(c, audit));
    return Webhook{.id = id, .org_id = w.org_id, .url = w.url, .events = w.events, .created_at = w.created_at,
                   .failing = false};
  });
}

Result<Page<Webhook>> SqliteStore::list_webhooks(Id org_id, std::optional<Id> after_id, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<Webhook>> {
      RT_TRY(Rows rows, c.query("SELECT " RT_WEBHOOK_COLUMNS " FROM webhooks w WHERE w.org_id = ?1 AND w.id > ?2"
                                " ORDER BY w.id LIMIT ?3",
                                {org_id, after_id.value_or(0), limit + 1}));
      RT_TRY(auto page, read_page<Webhook>(rows, limit, [](const Rows& r) { return read_webhook(r); }));
      RT_TRY(auto total, c.query_int64("SELECT count(*) FROM webhooks WHERE org_id = ?1", {org_id}));
      page.total = total.value_or(0);
      return page;
    });
  });
}

Status SqliteStore::delete_webhook(Id org_id, Id webhook_id, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(int n, c.execute("DELETE FROM webhooks WHERE id = ?1 AND org_id = ?2", {webhook_id, org_id}));
    if (n == 0) return not_found("the organization has no webhook with id " + std::to_string(webhook_id));
    return insert_audit(c, audit);
  });
}

Result<Page<WebhookDelivery>> SqliteStore::list_webhook_deliveries(Id org_id, Id webhook_id,
                                                                   std::optional<Id> before_id, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<WebhookDelivery>> {
      RT_TRY(auto owned, c.query_int64("SELECT 1 FROM webhooks WHERE id = ?1 AND org_id = ?2", {webhook_id, org_id}));
      if (!owned) return not_found("the organization has no webhook with id " + std::to_string(webhook_id));
      const char* sql = before_id ? "SELECT " RT_WEBHOOK_EVENT_COLUMNS " FROM webhook_events e"
                                    " WHERE e.webhook_id = ?1 AND e.id < ?2 ORDER BY e.id DESC LIMIT ?3"
                                  : "SELECT " RT_WEBHOOK_EVENT_COLUMNS " FROM webhook_events e"
                                    " WHERE e.webhook_id = ?1 ORDER BY e.id DESC LIMIT ?3";
      RT_TRY(Rows rows, c.query(sql, {webhook_id, before_id, limit + 1}));
      RT_TRY(auto page, read_page<WebhookDelivery>(rows, limit, [](const Rows& r) { return read_webhook_event(r); }));
      RT_TRY(auto total, c.query_int64("SELECT count(*) FROM webhook_events WHERE webhook_id = ?1", {webhook_id}));
      page.total = total.value_or(0);
      return page;
    });
  });
}

Result<std::vector<DueWebhookEvent>> SqliteStore::claim_webhook_events(UnixTime now, UnixTime lease_until, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return write<std::vector<DueWebhookEvent>>([&](Connection& c) -> Result<std::vector<DueWebhookEvent>> {
    std::vector<DueWebhookEvent> claimed;
    {
      RT_TRY(Rows rows, c.query("SELECT " RT_WEBHOOK_EVENT_COLUMNS ", w.url, w.secret_sealed"
                                " FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id"
                                " WHERE e.next_attempt_at IS NOT NULL AND e.next_attempt_at <= ?1"
                                " AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.webhook_id = e.webhook_id"
                                "  AND p.id < e.id AND p.next_attempt_at IS NOT NULL)"
                                " ORDER BY e.next_attempt_at, e.id LIMIT ?2",
                                {now, limit}));
      for (;;) {
        RT_TRY(bool has, rows.next());
        if (!has) break;
        claimed.push_back(DueWebhookEvent{.delivery = read_webhook_event(rows), .url = rows.text(14),
                                          .sealed_secret = rows.text(15)});
      }
    }
    for (const DueWebhookEvent& e : claimed)
      RT_TRY_STATUS(c.execute("UPDATE webhook_events SET next_attempt_at = ?2 WHERE id = ?1",
                              {e.delivery.id, lease_until}));
    return claimed;
  });
}

Status SqliteStore::record_webhook_attempt(const WebhookAttempt& a) {
  return write<Ok>([&](Connection& c) -> Status {
    const std::optional<UnixTime> delivered_at = a.delivered ? std::optional<UnixTime>(a.at) : std::nullopt;
    const std::optional<UnixTime> next = a.delivered ? std::nullopt : a.next_attempt_at;
    RT_TRY(int n, c.execute("UPDATE webhook_events SET attempts = attempts + 1, last_attempt_at = ?2, last_status = ?3,"
                            " last_error = ?4, last_latency_ms = ?5, delivered_at = ?6, next_attempt_at = ?7"
                            " WHERE id = ?1",
                            {a.event_row, a.at, a.status.has_value() ? Value(std::int64_t{*a.status}) : Value(std::nullopt),
                             a.error, a.latency_ms, delivered_at, next}));
    if (n == 0) return ok_status();  // the webhook was removed meanwhile, and its events with it
    if (a.delivered || !next)
      RT_TRY_STATUS(c.execute("UPDATE webhooks SET failing = ?2"
                              " WHERE id = (SELECT webhook_id FROM webhook_events WHERE id = ?1)",
                              {a.event_row, !a.delivered}));
    return ok_status();
  });
}

Result<std::int64_t> SqliteStore::count_failing_webhooks() {
  return read([&](Connection& c) -> Result<std::int64_t> {
    RT_TRY(auto n, c.query_int64("SELECT count(*) FROM webhooks WHERE failing <> 0"));
    return n.value_or(0);
  });
}

}  // namespace rt::sqlite
