// What the PostgreSQL store's method files share: row decoders (in the column order of the lists below,
// which are the SQLite store's, so both backends read the same shape), keyset-page assembly, a builder
// for statements whose filters vary, and the audit insert.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/model.h"
#include "store/postgres/connection.h"
#include "store/rule_messages.h"
#include "store/store.h"

namespace rt::postgres {

#define RT_PG_USER_COLUMNS "u.id, u.name, u.email, u.is_admin, u.created_at"
#define RT_PG_ACCOUNT_TOKEN_COLUMNS "t.id, t.user_id, t.created_at, t.expires_at, t.last_used_at"
#define RT_PG_ORGANIZATION_COLUMNS \
  "o.id, o.provider, o.name, o.remote_identifier, o.type, o.created_at, o.default_lifetime_days, o.max_lifetime_days, \
  o.expiry_warning_days"
#define RT_PG_REPOSITORY_COLUMNS \
  "r.id, r.org_id, o.provider, o.name, r.name, r.visibility, r.remote_identifier, r.languages, r.created_at, r.updated_at"
#define RT_PG_REPOSITORY_TOKEN_COLUMNS \
  "k.id, k.repository_id, k.name, k.created_at, k.expires_at, k.last_used_at, k.created_by, k.ci_only"
constexpr int kRepositoryTokenColumnCount = 8;
#define RT_PG_AUDIT_COLUMNS "a.id, a.org_id, a.at, a.actor_user_id, a.actor, a.action, a.target, a.details"

constexpr int kUserColumnCount = 5;
constexpr int kAccountTokenColumnCount = 5;
constexpr int kOrganizationColumnCount = 9;
constexpr int kRepositoryColumnCount = 10;

User read_user(const Rows& rows, int row, int first = 0);
AccountToken read_account_token(const Rows& rows, int row, int first = 0);
Organization read_organization(const Rows& rows, int row, int first = 0);
Repository read_repository(const Rows& rows, int row, int first = 0);
RepositoryToken read_repository_token(const Rows& rows, int row, int first = 0);
CiTrustRule read_ci_trust_rule(const Rows& rows, int row, int first = 0);
AuditEvent read_audit_event(const Rows& rows, int row, int first = 0);

// A PostgreSQL array literal of integers, "{1,2,3}", for `= ANY($1::bigint[])`.
std::string id_array(std::span<const std::int64_t> ids);
// A PostgreSQL array literal of any values, each double-quoted (a quote or backslash inside escaped by a
// backslash) or NULL, for unnest($1::text[], ...): one parameter per column of a batch, whatever its size.
std::string value_array(std::span<const Value> values);

// A statement assembled from fixed fragments; every value is a numbered parameter, never SQL text.
struct Query {
  std::string sql;
  Params args;
  // Appends the value as the next parameter and returns its placeholder ("$3").
  std::string bind(Value v) {
    args.push_back(std::move(v));
    return "$" + std::to_string(args.size());
  }
};

Status insert_audit(Connection& conn, const AuditEvent& event);
Status user_exists(Connection& conn, Id user_id);

// Outbox rows (pg_webhooks.cc), inside the caller's transaction. kRepositoryTokenEventInsert announces
// repository tokens that still exist to each webhook of their organization subscribed to the event; the
// caller appends the condition choosing the tokens `k` (binding $6 and on). The second announces the
// "token.leaked" of an account token an audit entry names (nothing unless `audit` carries one).
extern const char* const kRepositoryTokenEventInsert;
// The same for the tokens a batch of creations just inserted: `k` is the batch statement's own CTE of them
// with each one's event id prefix, event, at and actor (pg_tokens.cc).
extern const char* const kCreatedTokenEventInsert;
Status enqueue_account_token_event(Connection& conn, const AuditEvent& audit);

// rows holds up to limit + 1 rows (the query asked for that many): a page, with `more` set; not `total`.
template <class T, class Decode>
Page<T> make_page(const Rows& rows, int limit, Decode decode) {
  Page<T> page;
  for (int i = 0; i < rows.size(); ++i) {
    if (i == limit) {
      page.more = true;
      break;
    }
    page.items.push_back(decode(rows, i));
  }
  return page;
}

}  // namespace rt::postgres
