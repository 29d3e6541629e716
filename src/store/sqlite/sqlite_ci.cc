// SQLite store: secretless CI — each repository's trust rules in its CI issuers, and the JWT ids already
// exchanged, kept until their JWT's expiry so that a replayed JWT is refused.
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace rt::sqlite {
namespace {

#define RT_CI_TRUST_RULE_COLUMNS \
  "id, repository_id, issuer, audience, claims, lifetime_minutes, binds_only_names, created_at, created_by"

Result<std::vector<CiTrustRule>> read_rules(Rows& rows) {
  std::vector<CiTrustRule> out;
  for (;;) {
    RT_TRY(bool has, rows.next());
    if (!has) return out;
    out.push_back(read_ci_trust_rule(rows));
  }
}

}  // namespace

Result<CiTrustRule> SqliteStore::create_ci_trust_rule(const CiTrustRule& rule, const AuditEvent& audit) {
  return write<CiTrustRule>([&](Connection& c) -> Result<CiTrustRule> {
    RT_TRY(auto repo, c.query_int64("SELECT 1 FROM repositories WHERE id = ?1", {rule.repository_id}));
    if (!repo) return not_found("no repository with id " + std::to_string(rule.repository_id));
    RT_TRY(int added, c.execute("INSERT INTO ci_trust_rules(repository_id, issuer, audience, claims, lifetime_minutes,"
                                " binds_only_names, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                {rule.repository_id, rule.issuer, rule.audience, rule.claims_json,
                                 rule.lifetime_minutes, rule.binds_only_names, rule.created_at, rule.created_by}));
    (void)added;
    CiTrustRule stored = rule;
    stored.id = c.last_insert_id();
    RT_TRY_STATUS(insert_audit(c, audit));
    return stored;
  });
}

Result<std::vector<CiTrustRule>> SqliteStore::list_ci_trust_rules(Id repository_id) {
  return read([&](Connection& c) -> Result<std::vector<CiTrustRule>> {
    RT_TRY(Rows rows, c.query("SELECT " RT_CI_TRUST_RULE_COLUMNS " FROM ci_trust_rules WHERE repository_id = ?1"
                              " ORDER BY id",
                              {repository_id}));
    return read_rules(rows);
  });
}

Result<std::vector<CiTrustRule>> SqliteStore::find_ci_trust_rules(const std::string& issuer) {
  return read([&](Connection& c) -> Result<std::vector<CiTrustRule>> {
    RT_TRY(Rows rows, c.query("SELECT " RT_CI_TRUST_RULE_COLUMNS " FROM ci_trust_rules WHERE issuer = ?1 ORDER BY id",
                              {issuer}));
    return read_rules(rows);
  });
}

Status SqliteStore::delete_ci_trust_rule(Id repository_id, Id rule_id, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(int deleted, c.execute("DELETE FROM ci_trust_rules WHERE id = ?1 AND repository_id = ?2",
                                  {rule_id, repository_id}));
    if (deleted == 0) return not_found("no CI trust rule " + std::to_string(rule_id) + " on this repository");
    return insert_audit(c, audit);
  });
}

Result<bool> SqliteStore::record_ci_jti(const std::string& issuer, const std::string& jti, UnixTime expires_at,
                                        UnixTime now) {
  return write<bool>([&](Connection& c) -> Result<bool> {
    RT_TRY(int purged, c.execute("DELETE FROM ci_jti WHERE expires_at < ?1", {now}));
    (void)purged;
    RT_TRY(int added, c.execute("INSERT INTO ci_jti(issuer, jti, expires_at) VALUES (?1, ?2, ?3)"
                                " ON CONFLICT(issuer, jti) DO NOTHING",
                                {issuer, jti, expires_at}));
    return added == 1;
  });
}

}  // namespace rt::sqlite
