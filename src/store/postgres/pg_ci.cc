// PostgreSQL store: secretless CI — each repository's trust rules in its CI issuers, and the JWT ids
// already exchanged (one row per (issuer, jti), so two nodes racing on one JWT issue one token at most).
#include "store/postgres/pg_rows.h"
#include "store/postgres/postgres_store.h"

namespace rt::postgres {
namespace {

#define RT_PG_CI_TRUST_RULE_COLUMNS \
  "id, repository_id, issuer, audience, claims, lifetime_minutes, binds_only_names, created_at, created_by"

std::vector<CiTrustRule> read_rules(const Rows& rows) {
  std::vector<CiTrustRule> out;
  for (int i = 0; i < rows.size(); ++i) out.push_back(read_ci_trust_rule(rows, i));
  return out;
}

}  // namespace

Result<CiTrustRule> PostgresStore::create_ci_trust_rule(const CiTrustRule& rule, const AuditEvent& audit) {
  return write<CiTrustRule>([&](Connection& c) -> Result<CiTrustRule> {
    RT_TRY(Rows rows, c.exec("INSERT INTO ci_trust_rules(repository_id, issuer, audience, claims, lifetime_minutes,"
                             " binds_only_names, created_at, created_by)"
                             " SELECT $1::bigint, $2, $3, $4, $5::integer, $6::boolean, $7::bigint, $8"
                             " WHERE EXISTS (SELECT 1 FROM repositories WHERE id = $1) RETURNING id",
                             {rule.repository_id, rule.issuer, rule.audience, rule.claims_json,
                              rule.lifetime_minutes, rule.binds_only_names, rule.created_at, rule.created_by}));
    if (rows.size() == 0) return not_found("no repository with id " + std::to_string(rule.repository_id));
    CiTrustRule stored = rule;
    stored.id = rows.int64(0, 0);
    RT_TRY_STATUS(insert_audit(c, audit));
    return stored;
  });
}

Result<std::vector<CiTrustRule>> PostgresStore::list_ci_trust_rules(Id repository_id) {
  return read<std::vector<CiTrustRule>>([&](Connection& c) -> Result<std::vector<CiTrustRule>> {
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_CI_TRUST_RULE_COLUMNS " FROM ci_trust_rules WHERE repository_id = $1"
                             " ORDER BY id",
                             {repository_id}));
    return read_rules(rows);
  });
}

Result<std::vector<CiTrustRule>> PostgresStore::find_ci_trust_rules(const std::string& issuer) {
  return read<std::vector<CiTrustRule>>([&](Connection& c) -> Result<std::vector<CiTrustRule>> {
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_CI_TRUST_RULE_COLUMNS " FROM ci_trust_rules WHERE issuer = $1 ORDER BY id",
                             {issuer}));
    return read_rules(rows);
  });
}

Status PostgresStore::delete_ci_trust_rule(Id repository_id, Id rule_id, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(Rows rows, c.exec("DELETE FROM ci_trust_rules WHERE id = $1 AND repository_id = $2 RETURNING id",
                             {rule_id, repository_id}));
    if (rows.size() == 0) return not_found("no CI trust rule " + std::to_string(rule_id) + " on this repository");
    return insert_audit(c, audit);
  });
}

Result<bool> PostgresStore::record_ci_jti(const std::string& issuer, const std::string& jti, UnixTime expires_at,
                                          UnixTime now) {
  return write<bool>([&](Connection& c) -> Result<bool> {
    RT_TRY(Rows purged, c.exec("DELETE FROM ci_jti WHERE expires_at < $1", {now}));
    (void)purged;
    RT_TRY(Rows added, c.exec("INSERT INTO ci_jti(issuer, jti, expires_at) VALUES ($1, $2, $3)"
                              " ON CONFLICT (issuer, jti) DO NOTHING RETURNING 1",
                              {issuer, jti, expires_at}));
    return added.size() == 1;
  });
}

}  // namespace rt::postgres
