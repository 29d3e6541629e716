// PostgreSQL store: organization webhooks, their outbox rows (written beside the token change they
// announce, in its transaction) and the delivery listing.
#include <algorithm>
#include <limits>

#include "store/encodings.h"
#include "store/expiry_notice.h"
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

// A token's expiry notice for each subscribed webhook: $1 event id, $2 event, $3 at, $4 window (NULL for
// token.expired: json_strip_nulls then drops noticeWindowSeconds), $5 token id. No actor: the scheduler acts.
#define RT_PG_EXPIRY_BODY(token)                                                                            \
  "json_strip_nulls(json_build_object('id', $1::text, 'event', $2::text, 'occurredAt', " RT_PG_TIME("$3::bigint") "," \
  " 'organization', json_build_object('provider', o.provider, 'name', o.name), " token ","                     \
  " 'noticeWindowSeconds', $4::bigint))::text"
constexpr const char* kRepositoryExpiryInsert =
    "INSERT INTO webhook_events(webhook_id, event_id, delivery_id, event, body, created_at, next_attempt_at)"
    " SELECT w.id, $1::text, $1::text || '.' || w.id, $2::text, " RT_PG_EXPIRY_BODY(
        "'repository', json_build_object('provider', o.provider, 'owner', o.name, 'name', r.name),"
        " 'token', json_build_object('id', k.id, 'name', k.name, 'kind', 'repository', 'expiresAt', "
        RT_PG_TIME("k.expires_at") ")") ", $3::bigint, $3::bigint"
    " FROM repository_tokens k JOIN repositories r ON r.id = k.repository_id"
    " JOIN organizations o ON o.id = r.org_id"
    " JOIN webhooks w ON w.org_id = r.org_id AND strpos(w.events, ',' || $2::text || ',') > 0"
    " WHERE k.id = $5::bigint ORDER BY w.id";
// An account token's notice goes to every organization its owner is a member of, as token.leaked does.
constexpr const char* kAccountExpiryInsert =
    "INSERT INTO webhook_events(webhook_id, event_id, delivery_id, event, body, created_at, next_attempt_at)"
    " SELECT w.id, $1::text, $1::text || '.' || w.id, $2::text, " RT_PG_EXPIRY_BODY(
        "'token', json_build_object('id', t.id, 'name', u.name, 'kind', 'account', 'owner', u.name, 'expiresAt', "
        RT_PG_TIME("t.expires_at") ")") ", $3::bigint, $3::bigint"
    " FROM account_tokens t JOIN users u ON u.id = t.user_id JOIN memberships m ON m.user_id = t.user_id"
    " JOIN organizations o ON o.id = m.org_id"
    " JOIN webhooks w ON w.org_id = m.org_id AND strpos(w.events, ',' || $2::text || ',') > 0"
    " WHERE t.id = $5::bigint ORDER BY m.org_id, w.id";

struct TokenExpiryScan {
  const char* unnoticed;  // $1 horizon (now + the largest window), $2 limit
  const char* due;        // $1 now, $2 limit
  const char* insert;
  const char* advance;    // $1 token id, $2 next notice time
};
// SKIP LOCKED: a token a revocation is deleting right now is left for the next scan, not waited for.
constexpr TokenExpiryScan kExpiryScans[] = {
    {"SELECT id, expires_at FROM repository_tokens WHERE expiry_notice_at IS NULL AND expires_at <= $1"
     " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED",
     "SELECT id, expires_at FROM repository_tokens WHERE expiry_notice_at > 0 AND expiry_notice_at <= $1"
     " ORDER BY expiry_notice_at LIMIT $2 FOR UPDATE SKIP LOCKED",
     kRepositoryExpiryInsert, "UPDATE repository_tokens SET expiry_notice_at = $2 WHERE id = $1"},
    {"SELECT id, expires_at FROM account_tokens WHERE expiry_notice_at IS NULL AND expires_at IS NOT NULL"
     " AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED",
     "SELECT id, expires_at FROM account_tokens WHERE expiry_notice_at > 0 AND expiry_notice_at <= $1"
     " ORDER BY expiry_notice_at LIMIT $2 FOR UPDATE SKIP LOCKED",
     kAccountExpiryInsert, "UPDATE account_tokens SET expiry_notice_at = $2 WHERE id = $1"},
};

// Any constant shared by all nodes: the one expiry scan running at a time holds it for its transaction.
constexpr const char* kExpiryScanLock = "SELECT pg_try_advisory_xact_lock(7316452380152)";

}  // namespace

// The outbox rows announcing the repository tokens `k` (id, name, expires_at, repository_id) to each
// webhook of their organization subscribed to the event; PREFIX (the event id's), EVENT, AT and ACTOR are
// SQL expressions, TOKENS the FROM item that names k.
#define RT_PG_TOKEN_EVENT_INSERT(prefix, event, at, actor, tokens)                                             \
  "INSERT INTO webhook_events(webhook_id, event_id, delivery_id, event, body, created_at, next_attempt_at)"   \
  " SELECT w.id, " prefix " || k.id, " prefix " || k.id || '.' || w.id, " event ","                          \
  " json_build_object('id', " prefix " || k.id, 'event', " event ", 'occurredAt', " RT_PG_TIME(at) ","         \
  "  'organization', json_build_object('provider', o.provider, 'name', o.name),"                               \
  "  'repository', json_build_object('provider', o.provider, 'owner', o.name, 'name', r.name),"               \
  "  'token', json_build_object('id', k.id, 'name', k.name, 'kind', 'repository', 'expiresAt', "              \
  RT_PG_TIME("k.expires_at") "),"                                                                               \
  "  'actor', json_build_object('name', " actor "))::text, " at ", " at                                       \
  " FROM " tokens " JOIN repositories r ON r.id = k.repository_id"                                              \
  " JOIN organizations o ON o.id = r.org_id"                                                                    \
  " JOIN webhooks w ON w.org_id = r.org_id AND strpos(w.events, ',' || " event " || ',') > 0"

// $1 event id prefix, $2 event, $3 at, $4 actor, $5 repository id, $6 the tokens (see pg_rows.h).
const char* const kRepositoryTokenEventInsert =
    RT_PG_TOKEN_EVENT_INSERT("$1::text", "$2::text", "$3::bigint", "$4::text", "repository_tokens k")
    " WHERE k.repository_id = $5::bigint AND ";
const char* const kCreatedTokenEventInsert =
    RT_PG_TOKEN_EVENT_INSERT("k.prefix", "k.event", "k.at", "k.actor", "k") " ORDER BY k.id, w.id";

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
                                                                         int limit, int run) {
  RT_TRY_STATUS(check_limit(limit));
  RT_TRY_STATUS(check_limit(run));
  // SKIP LOCKED: of several nodes claiming at once, each takes heads no other is taking; the lease then keeps
  // them (and, since a run starts at its webhook's oldest undelivered event, everything behind them) out of
  // every later claim until the attempt is recorded or the lease runs out.
  return write<std::vector<DueWebhookEvent>>([&](Connection& c) -> Result<std::vector<DueWebhookEvent>> {
    RT_TRY(Rows rows, c.exec("WITH claimed AS (SELECT e.id FROM webhook_events e"
                             " WHERE e.next_attempt_at <= $1"
                             " AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.webhook_id = e.webhook_id"
                             "  AND p.id < e.id AND p.next_attempt_at IS NOT NULL)"
                             " ORDER BY e.next_attempt_at, e.id LIMIT $2 FOR UPDATE SKIP LOCKED)"
                             " UPDATE webhook_events e SET next_attempt_at = $3 FROM claimed, webhooks w"
                             " WHERE e.id = claimed.id AND w.id = e.webhook_id"
                             " RETURNING " RT_PG_WEBHOOK_EVENT_COLUMNS ", w.url, w.secret_sealed, w.failing",
                             {now, limit, lease_until}));
    std::vector<DueWebhookEvent> heads, claimed;
    for (int i = 0; i < rows.size(); ++i)
      heads.push_back(DueWebhookEvent{.delivery = read_webhook_event(rows, i), .url = rows.text(i, 14),
                                      .sealed_secret = rows.text(i, 15), .webhook_failing = rows.boolean(i, 16)});
    std::sort(heads.begin(), heads.end(),
              [](const DueWebhookEvent& a, const DueWebhookEvent& b) { return a.delivery.id < b.delivery.id; });
    for (DueWebhookEvent& head : heads) {
      const Id webhook = head.delivery.webhook_id, after = head.delivery.id;
      claimed.push_back(std::move(head));
      if (run <= 1) continue;
      // The events queued behind the head, in order, up to the first that is not due (a run never skips one).
      RT_TRY(Rows queued, c.exec("SELECT id, next_attempt_at FROM webhook_events"
                                 " WHERE webhook_id = $1 AND id > $2 AND next_attempt_at IS NOT NULL"
                                 " ORDER BY id LIMIT $3 FOR UPDATE",
                                 {webhook, after, run - 1}));
      std::vector<Id> ids;
      for (int i = 0; i < queued.size() && queued.int64(i, 1) <= now; ++i) ids.push_back(queued.int64(i, 0));
      if (ids.empty()) continue;
      RT_TRY(Rows leased, c.exec("UPDATE webhook_events e SET next_attempt_at = $2 WHERE e.id = ANY($1::bigint[])"
                                 " RETURNING " RT_PG_WEBHOOK_EVENT_COLUMNS,
                                 {id_array(ids), lease_until}));
      std::vector<DueWebhookEvent> tail;
      for (int i = 0; i < leased.size(); ++i)
        tail.push_back(DueWebhookEvent{.delivery = read_webhook_event(leased, i), .url = claimed.back().url,
                                       .sealed_secret = claimed.back().sealed_secret,
                                       .webhook_failing = claimed.back().webhook_failing});
      std::sort(tail.begin(), tail.end(),
                [](const DueWebhookEvent& a, const DueWebhookEvent& b) { return a.delivery.id < b.delivery.id; });
      for (DueWebhookEvent& e : tail) claimed.push_back(std::move(e));
    }
    return claimed;
  });
}

Status PostgresStore::record_webhook_attempts(std::span<const WebhookAttempt> attempts) {
  return write<Ok>([&](Connection& c) -> Status {
    for (const WebhookAttempt& a : attempts) {
      if (a.released) {
        RT_TRY(Rows r, c.exec("UPDATE webhook_events SET next_attempt_at = $2 WHERE id = $1",
                              {a.event_row, a.next_attempt_at}));
        (void)r;
        continue;
      }
      const std::optional<UnixTime> next = a.next_due();
      RT_TRY(Rows r, c.exec("UPDATE webhook_events SET attempts = attempts + 1, last_attempt_at = $2, last_status = $3,"
                            " last_error = $4, last_latency_ms = $5, delivered_at = $6, next_attempt_at = $7"
                            " WHERE id = $1 RETURNING webhook_id",
                            {a.event_row, a.at, a.status, a.error, a.latency_ms, a.delivered_time(), next}));
      if (r.size() == 0) continue;  // the webhook was removed meanwhile, and its events with it
      if (a.delivered || !next) {
        RT_TRY(Rows w, c.exec("UPDATE webhooks SET failing = $2 WHERE id = $1 AND failing <> $2",
                              {r.int64(0, 0), !a.delivered}));
        (void)w;
      }
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

Result<int> PostgresStore::announce_token_expiry(UnixTime now, std::span<const std::int64_t> windows, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  const UnixTime horizon = now + (windows.empty() ? 0 : windows.front());
  return write<int>([&](Connection& c) -> Result<int> {
    // One node at a time; the others find the lock held and return at once (their next tick tries again).
    // Under READ COMMITTED each statement below sees what the previous holder committed.
    RT_TRY(Rows lock, c.exec(kExpiryScanLock, {}));
    if (!lock.boolean(0, 0)) return 0;
    int advanced = 0;
    for (const TokenExpiryScan& scan : kExpiryScans) {
      std::vector<std::pair<Id, UnixTime>> due;  // token id, expires_at
      for (auto [sql, at] : {std::pair{scan.unnoticed, horizon}, std::pair{scan.due, now}}) {
        RT_TRY(Rows rows, c.exec(sql, {at, limit}));
        for (int i = 0; i < rows.size(); ++i) due.emplace_back(rows.int64(i, 0), rows.int64(i, 1));
      }
      for (const auto& [token_id, expires_at] : due) {
        const ExpiryNotice notice = next_expiry_notice(expires_at, now, windows);
        if (!notice.event.empty()) {
          RT_TRY(Rows r, c.exec(scan.insert, {new_webhook_event_id_prefix() + std::to_string(token_id),
                                              notice.event, now, notice.window, token_id}));
          (void)r;
        }
        RT_TRY(Rows r, c.exec(scan.advance, {token_id, notice.next_notice_at}));
        advanced += r.affected();
      }
    }
    return advanced;
  });
}

}  // namespace rt::postgres
