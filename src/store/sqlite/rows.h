// What the SQLite store's method files share: the column lists they select, the decoders that turn a row
// into a domain value, keyset-page assembly and the audit insert. The text encodings both stores share
// are in store/encodings.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "store/encodings.h"  // like_pattern, the languages codec
#include "store/sqlite/connection.h"
#include "store/rule_messages.h"
#include "store/store.h"

namespace rt::sqlite {

// Column lists, in the order the matching decoder reads them.
#define RT_USER_COLUMNS "u.id, u.name, u.email, u.is_admin, u.created_at"
#define RT_ACCOUNT_TOKEN_COLUMNS "t.id, t.user_id, t.created_at, t.expires_at, t.last_used_at"
#define RT_ORGANIZATION_COLUMNS \
  "o.id, o.provider, o.name, o.remote_identifier, o.type, o.created_at, o.default_lifetime_days, o.max_lifetime_days, \
  o.expiry_warning_days"
#define RT_REPOSITORY_COLUMNS \
  "r.id, r.org_id, o.provider, o.name, r.name, r.visibility, r.remote_identifier, r.languages, r.created_at, r.updated_at"
#define RT_REPOSITORY_TOKEN_COLUMNS \
  "k.id, k.repository_id, k.name, k.created_at, k.expires_at, k.last_used_at, k.created_by, k.ci_only"
constexpr int kRepositoryTokenColumnCount = 8;
#define RT_AUDIT_COLUMNS "a.id, a.org_id, a.at, a.actor_user_id, a.actor, a.action, a.target, a.details"

constexpr int kUserColumnCount = 5;
constexpr int kAccountTokenColumnCount = 5;
constexpr int kOrganizationColumnCount = 9;
constexpr int kRepositoryColumnCount = 10;

User read_user(const Rows& rows, int first = 0);
AccountToken read_account_token(const Rows& rows, int first = 0);
Organization read_organization(const Rows& rows, int first = 0);
Repository read_repository(const Rows& rows, int first = 0);
RepositoryToken read_repository_token(const Rows& rows, int first = 0);
CiTrustRule read_ci_trust_rule(const Rows& rows, int first = 0);
AuditEvent read_audit_event(const Rows& rows, int first = 0);

Status insert_audit(Connection& conn, const AuditEvent& event);

Status user_exists(Connection& conn, Id user_id);

// Outbox rows (sqlite_webhooks.cc), inside the caller's write transaction: `event` about one repository
// token (which must still exist), for each of its organization's webhooks subscribed to it; and the
// "token.leaked" of an account token an audit entry names (nothing unless `audit` carries one).
Status enqueue_repository_token_event(Connection& conn, std::string_view event, Id repository_id, Id token_id,
                                      const AuditEvent& audit);
Status enqueue_account_token_event(Connection& conn, const AuditEvent& audit);

// Reads limit + 1 rows (the query must ask for that many) into a page, setting `more`; not `total`.
template <class T, class Decode>
Result<Page<T>> read_page(Rows& rows, int limit, Decode decode) {
  Page<T> page;
  for (;;) {
    RT_TRY(bool has, rows.next());
    if (!has) break;
    if (static_cast<int>(page.items.size()) == limit) {
      page.more = true;
      break;
    }
    page.items.push_back(decode(rows));
  }
  return page;
}

// Runs fn(conn) inside one read transaction, so a page and its total come from the same snapshot.
template <class F>
auto in_snapshot(Connection& conn, F&& fn) -> decltype(fn(conn)) {
  if (auto begin = conn.execute("BEGIN"); !begin.ok()) return begin.error();
  auto result = fn(conn);
  (void)conn.execute("COMMIT");
  return result;
}

}  // namespace rt::sqlite
