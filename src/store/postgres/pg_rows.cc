// Row decoders and the small helpers the PostgreSQL store's method files share.
#include "store/postgres/pg_rows.h"

#include "store/encodings.h"

namespace rt::postgres {

User read_user(const Rows& rows, int i, int c) {
  return User{.id = rows.int64(i, c),
              .name = rows.text(i, c + 1),
              .email = rows.optional_text(i, c + 2),
              .is_admin = rows.boolean(i, c + 3),
              .created_at = rows.int64(i, c + 4)};
}

AccountToken read_account_token(const Rows& rows, int i, int c) {
  return AccountToken{.id = rows.int64(i, c),
                      .user_id = rows.int64(i, c + 1),
                      .created_at = rows.int64(i, c + 2),
                      .expires_at = rows.optional_int64(i, c + 3),
                      .last_used_at = rows.optional_int64(i, c + 4)};
}

Organization read_organization(const Rows& rows, int i, int c) {
  return Organization{
      .id = rows.int64(i, c),
      .provider = parse_provider(rows.text(i, c + 1)).value_or(Provider::gh),
      .name = rows.text(i, c + 2),
      .remote_identifier = rows.text(i, c + 3),
      .type = parse_org_type(rows.text(i, c + 4)).value_or(OrgType::Organization),
      .created_at = rows.int64(i, c + 5),
      .policy = TokenPolicy{.default_lifetime_days = static_cast<int>(rows.int64(i, c + 6)),
                            .max_lifetime_days = static_cast<int>(rows.int64(i, c + 7)),
                            .expiry_warning_days = static_cast<int>(rows.int64(i, c + 8))}};
}

Repository read_repository(const Rows& rows, int i, int c) {
  return Repository{.id = rows.int64(i, c),
                    .org_id = rows.int64(i, c + 1),
                    .provider = parse_provider(rows.text(i, c + 2)).value_or(Provider::gh),
                    .owner = rows.text(i, c + 3),
                    .name = rows.text(i, c + 4),
                    .visibility = parse_visibility(rows.text(i, c + 5)).value_or(Visibility::Private),
                    .remote_identifier = rows.text(i, c + 6),
                    .languages = decode_languages(rows.text(i, c + 7)),
                    .created_at = rows.int64(i, c + 8),
                    .updated_at = rows.int64(i, c + 9)};
}

RepositoryToken read_repository_token(const Rows& rows, int i, int c) {
  return RepositoryToken{.id = rows.int64(i, c),
                         .repository_id = rows.int64(i, c + 1),
                         .name = rows.text(i, c + 2),
                         .created_at = rows.int64(i, c + 3),
                         .expires_at = rows.int64(i, c + 4),
                         .last_used_at = rows.optional_int64(i, c + 5),
                         .created_by = rows.optional_text(i, c + 6),
                         .ci_only = rows.boolean(i, c + 7)};
}

CiTrustRule read_ci_trust_rule(const Rows& rows, int i, int c) {
  return CiTrustRule{.id = rows.int64(i, c),
                     .repository_id = rows.int64(i, c + 1),
                     .issuer = rows.text(i, c + 2),
                     .audience = rows.text(i, c + 3),
                     .claims_json = rows.text(i, c + 4),
                     .lifetime_minutes = static_cast<int>(rows.int64(i, c + 5)),
                     .binds_only_names = rows.boolean(i, c + 6),
                     .created_at = rows.int64(i, c + 7),
                     .created_by = rows.text(i, c + 8)};
}

AuditEvent read_audit_event(const Rows& rows, int i, int c) {
  return AuditEvent{.id = rows.int64(i, c),
                    .org_id = rows.optional_int64(i, c + 1),
                    .at = rows.int64(i, c + 2),
                    .actor_user_id = rows.optional_int64(i, c + 3),
                    .actor = rows.text(i, c + 4),
                    .action = rows.text(i, c + 5),
                    .target = rows.text(i, c + 6),
                    .details = rows.text(i, c + 7)};
}

Status insert_audit(Connection& conn, const AuditEvent& e) {
  RT_TRY(Rows r, conn.exec("INSERT INTO audit_events(org_id, at, actor_user_id, actor, action, target, details)"
                           " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                           {e.org_id, e.at, e.actor_user_id, e.actor, e.action, e.target, e.details}));
  (void)r;
  return ok_status();
}

Status user_exists(Connection& conn, Id user_id) {
  RT_TRY(auto found, conn.query_int64("SELECT 1 FROM users WHERE id = $1", {user_id}));
  if (!found) return not_found("no user with id " + std::to_string(user_id));
  return ok_status();
}

std::string id_array(std::span<const std::int64_t> ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "}";
}

std::string value_array(std::span<const Value> values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    const std::optional<std::string>& text = values[i].text();
    if (!text) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char ch : *text) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace rt::postgres
