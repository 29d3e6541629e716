// SQLite store: organization webhooks, their outbox rows (written beside the token change they announce,
// in its transaction) and the delivery listing.
#include "store/expiry_notice.h"
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

// A token's expiry notice for each subscribed webhook: ?1 event id, ?2 event, ?3 at, ?4 window (NULL for
// token.expired, which then has no noticeWindowSeconds), ?5 token id. No actor: the scheduler acts.
#define RT_EXPIRY_BODY(organization, token)                                                                 \
  "json_remove(json_object('id', ?1, 'event', ?2, 'occurredAt', " RT_SQLITE_TIME("?3") ","                   \
  " 'organization', " organization ", " token ", 'noticeWindowSeconds', ?4),"                                 \
  " CASE WHEN ?4 IS NULL THEN '$.noticeWindowSeconds' ELSE '$.none' END)"
constexpr const char* kRepositoryExpiryInsert =
    "INSERT INTO webhook_events(webhook_id, event_id, delivery_id, event, body, created_at, next_attempt_at)"
    " SELECT w.id, ?1, ?1 || '.' || w.id, ?2, " RT_EXPIRY_BODY(
        "json_object('provider', o.provider, 'name', o.name)",
        "'repository', json_object('provider', o.provider, 'owner', o.name, 'name', r.name),"
        " 'token', json_object('id', k.id, 'name', k.name, 'kind', 'repository', 'expiresAt', "
        RT_SQLITE_TIME("k.expires_at") ")") ", ?3, ?3"
    " FROM repository_tokens k JOIN repositories r ON r.id = k.repository_id"
    " JOIN organizations o ON o.id = r.org_id"
    " JOIN webhooks w ON w.org_id = r.org_id AND instr(w.events, ',' || ?2 || ',') > 0"
    " WHERE k.id = ?5 ORDER BY w.id";
// An account token's notice goes to every organization its owner is a member of, as token.leaked does.
constexpr const char* kAccountExpiryInsert =
    "INSERT INTO webhook_events(webhook_id, event_id, delivery_id, event, body, created_at, next_attempt_at)"
    " SELECT w.id, ?1, ?1 || '.' || w.id, ?2, " RT_EXPIRY_BODY(
        "json_object('provider', o.provider, 'name', o.name)",
        "'token', json_object('id', t.id, 'name', u.name, 'kind', 'account', 'owner', u.name, 'expiresAt', "
        RT_SQLITE_TIME("t.expires_at") ")") ", ?3, ?3"
    " FROM account_tokens t JOIN users u ON u.id = t.user_id JOIN memberships m ON m.user_id = t.user_id"
    " JOIN organizations o ON o.id = m.org_id"
    " JOIN webhooks w ON w.org_id = m.org_id AND instr(w.events, ',' || ?2 || ',') > 0"
    " WHERE t.id = ?5 ORDER BY m.org_id, w.id";

struct TokenExpiryScan {
  const char* unnoticed;  // ?1 horizon (now + the largest window), ?2 limit
  const char* due;        // ?1 now, ?2 limit
  const char* insert;
  const char* advance;    // ?1 token id, ?2 next notice time
};
constexpr TokenExpiryScan kExpiryScans[] = {
    {"SELECT id, expires_at FROM repository_tokens WHERE expiry_notice_at IS NULL AND expires_at <= ?1"
     " ORDER BY expires_at LIMIT ?2",
     "SELECT id, expires_at FROM repository_tokens WHERE expiry_notice_at > 0 AND expiry_notice_at <= ?1"
     " ORDER BY expiry_notice_at LIMIT ?2",
     kRepositoryExpiryInsert, "UPDATE repository_tokens SET expiry_notice_at = ?2 WHERE id = ?1"},
    {"SELECT id, expires_at FROM account_tokens WHERE expiry_notice_at IS NULL AND expires_at IS NOT NULL"
     " AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
     "SELECT id, expires_at FROM account_tokens WHERE expiry_notice_at > 0 AND expiry_notice_at <= ?1"
     " ORDER BY expiry_notice_at LIMIT ?2",
     kAccountExpiryInsert, "UPDATE account_tokens SET expiry_notice_at = ?2 WHERE id = ?1"},
};

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

Result<std::vector<DueWebhookEvent>> SqliteStore::claim_webhook_events(UnixTime now, UnixTime lease_until, int limit,
                                                                       int run) {
  RT_TRY_STATUS(check_limit(limit));
  RT_TRY_STATUS(check_limit(run));
  return write<std::vector<DueWebhookEvent>>([&](Connection& c) -> Result<std::vector<DueWebhookEvent>> {
    std::vector<DueWebhookEvent> heads, claimed;
    {
      RT_TRY(Rows rows, c.query("SELECT " RT_WEBHOOK_EVENT_COLUMNS ", w.url, w.secret_sealed"
                                ", w.failing FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id"
                                " WHERE e.next_attempt_at IS NOT NULL AND e.next_attempt_at <= ?1"
                                " AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.webhook_id = e.webhook_id"
                                "  AND p.id < e.id AND p.next_attempt_at IS NOT NULL)"
                                " ORDER BY e.next_attempt_at, e.id LIMIT ?2",
                                {now, limit}));
      for (;;) {
        RT_TRY(bool has, rows.next());
        if (!has) break;
        heads.push_back(DueWebhookEvent{.delivery = read_webhook_event(rows), .url = rows.text(14),
                                        .sealed_secret = rows.text(15), .webhook_failing = rows.int64(16) != 0});
      }
    }
    for (DueWebhookEvent& head : heads) {
      const Id webhook = head.delivery.webhook_id, after = head.delivery.id;
      claimed.push_back(std::move(head));
      if (run <= 1) continue;
      // The events queued behind the head, in order, up to the first that is not due (a run never skips one).
      RT_TRY(Rows rows, c.query("SELECT " RT_WEBHOOK_EVENT_COLUMNS " FROM webhook_events e"
                                " WHERE e.webhook_id = ?1 AND e.id > ?2 AND e.next_attempt_at IS NOT NULL"
                                " ORDER BY e.id LIMIT ?3",
                                {webhook, after, run - 1}));
      for (;;) {
        RT_TRY(bool has, rows.next());
        if (!has) break;
        WebhookDelivery d = read_webhook_event(rows);
        if (*d.next_attempt_at > now) break;
        claimed.push_back(DueWebhookEvent{.delivery = std::move(d), .url = claimed.back().url,
                                          .sealed_secret = claimed.back().sealed_secret,
                                          .webhook_failing = claimed.back().webhook_failing});
      }
    }
    for (const DueWebhookEvent& e : claimed)
      RT_TRY_STATUS(c.execute("UPDATE webhook_events SET next_attempt_at = ?2 WHERE id = ?1",
                              {e.delivery.id, lease_until}));
    return claimed;
  });
}

Status SqliteStore::record_webhook_attempts(std::span<const WebhookAttempt> attempts) {
  return write<Ok>([&](Connection& c) -> Status {
    for (const WebhookAttempt& a : attempts) {
      if (a.released) {
        RT_TRY_STATUS(c.execute("UPDATE webhook_events SET next_attempt_at = ?2 WHERE id = ?1",
                                {a.event_row, a.next_attempt_at}));
        continue;
      }
      const std::optional<UnixTime> next = a.next_due();
      RT_TRY(int n, c.execute("UPDATE webhook_events SET attempts = attempts + 1, last_attempt_at = ?2, last_status = ?3,"
                              " last_error = ?4, last_latency_ms = ?5, delivered_at = ?6, next_attempt_at = ?7"
                              " WHERE id = ?1",
                              {a.event_row, a.at, a.status.has_value() ? Value(std::int64_t{*a.status}) : Value(std::nullopt),
                               a.error, a.latency_ms, a.delivered_time(), next}));
      if (n == 0) continue;  // the webhook was removed meanwhile, and its events with it
      if (a.delivered || !next)
        RT_TRY_STATUS(c.execute("UPDATE webhooks SET failing = ?2"
                                " WHERE id = (SELECT webhook_id FROM webhook_events WHERE id = ?1) AND failing <> ?2",
                                {a.event_row, !a.delivered}));
    }
    return ok_status();
  });
}

Result<std::int64_t> SqliteStore::count_failing_webhooks() {
  return read([&](Connection& c) -> Result<std::int64_t> {
    RT_TRY(auto n, c.query_int64("SELECT count(*) FROM webhooks WHERE failing <> 0"));
    return n.value_or(0);
  });
}

Result<int> SqliteStore::announce_token_expiry(UnixTime now, std::span<const std::int64_t> windows, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  const UnixTime horizon = now + (windows.empty() ? 0 : windows.front());
  return write<int>([&](Connection& c) -> Result<int> {
    int advanced = 0;
    for (const TokenExpiryScan& scan : kExpiryScans) {
      std::vector<std::pair<Id, UnixTime>> due;  // token id, expires_at
      for (auto [sql, at] : {std::pair{scan.unnoticed, horizon}, std::pair{scan.due, now}}) {
        RT_TRY(Rows rows, c.query(sql, {at, limit}));
        for (;;) {
          RT_TRY(bool has, rows.next());
          if (!has) break;
          due.emplace_back(rows.int64(0), rows.int64(1));
        }
      }
      for (const auto& [token_id, expires_at] : due) {
        const ExpiryNotice notice = next_expiry_notice(expires_at, now, windows);
        if (!notice.event.empty()) {
          const std::string event_id = new_webhook_event_id_prefix() + std::to_string(token_id);
          RT_TRY(int n, c.execute(scan.insert, {event_id, notice.event, now, notice.window, token_id}));
          (void)n;
        }
        RT_TRY(int n, c.execute(scan.advance, {token_id, notice.next_notice_at}));
        advanced += n;
      }
    }
    return advanced;
  });
}

}  // namespace rt::sqlite
