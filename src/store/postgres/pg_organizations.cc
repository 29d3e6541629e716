// PostgreSQL store: organizations, their token policy and their members.
#include "store/postgres/pg_rows.h"
#include "store/postgres/postgres_store.h"
#include "store/encodings.h"

namespace rt::postgres {
namespace {

Status organization_exists(Connection& c, Id org_id) {
  RT_TRY(auto found, c.query_int64("SELECT 1 FROM organizations WHERE id = $1", {org_id}));
  if (!found) return not_found("no organization with id " + std::to_string(org_id));
  return ok_status();
}

}  // namespace

Result<Organization> PostgresStore::create_organization(const NewOrganization& org, Id creator,
                                                        const AuditEvent& audit) {
  return write<Organization>([&](Connection& c) -> Result<Organization> {
    RT_TRY_STATUS(user_exists(c, creator));
    const std::string& remote = org.remote_identifier.empty() ? org.name : org.remote_identifier;
    auto r = c.query_int64(
        "INSERT INTO organizations(provider, name, remote_identifier, type, created_at, default_lifetime_days,"
        " max_lifetime_days, expiry_warning_days) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        {provider_code(org.provider), org.name, remote, org_type_name(org.type), org.created_at,
         org.policy.default_lifetime_days, org.policy.max_lifetime_days, org.policy.expiry_warning_days});
    if (!r.ok())
      return name_conflict(r.error(), "an organization " + org_label(org.provider, org.name) + " already exists");
    Id id = r->value_or(0);
    RT_TRY(Rows added, c.exec("INSERT INTO memberships(org_id, user_id, role) VALUES ($1, $2, 'admin')", {id, creator}));
    (void)added;
    AuditEvent event = audit;  // the caller cannot know the new id: the event is filed under it
    if (!event.org_id) event.org_id = id;
    RT_TRY_STATUS(insert_audit(c, event));
    return Organization{.id = id, .provider = org.provider, .name = org.name, .remote_identifier = remote,
                        .type = org.type, .created_at = org.created_at, .policy = org.policy};
  });
}

Result<Organization> PostgresStore::get_organization(Provider provider, const std::string& name) {
  return read<Organization>([&](Connection& c) -> Result<Organization> {
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_ORGANIZATION_COLUMNS " FROM organizations o"
                             " WHERE o.provider = $1 AND o.name = $2",
                             {provider_code(provider), name}));
    if (rows.size() == 0) return not_found("no organization " + org_label(provider, name));
    return read_organization(rows, 0);
  });
}

Result<Organization> PostgresStore::get_organization_by_id(Id org_id) {
  return read<Organization>([&](Connection& c) -> Result<Organization> {
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_ORGANIZATION_COLUMNS " FROM organizations o WHERE o.id = $1", {org_id}));
    if (rows.size() == 0) return not_found("no organization with id " + std::to_string(org_id));
    return read_organization(rows, 0);
  });
}

Result<Page<OrganizationMembership>> PostgresStore::list_organizations(Id user_id, bool all,
                                                                       std::optional<Provider> provider,
                                                                       std::optional<Id> after_id, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  Query q;
  std::string user = q.bind(user_id);
  std::string filter = (all ? " FROM organizations o LEFT JOIN memberships m ON m.org_id = o.id AND m.user_id = "
                            : " FROM organizations o JOIN memberships m ON m.org_id = o.id AND m.user_id = ") +
                       user + " WHERE true";
  if (provider) filter += " AND o.provider = " + q.bind(provider_code(*provider));
  Query count{"SELECT count(*)" + filter, q.args};
  if (after_id) filter += " AND o.id > " + q.bind(*after_id);
  q.sql = "SELECT " RT_PG_ORGANIZATION_COLUMNS ", m.role" + filter + " ORDER BY o.id LIMIT ";
  q.sql += q.bind(limit + 1);
  return snapshot<Page<OrganizationMembership>>([&](Connection& c) -> Result<Page<OrganizationMembership>> {
    RT_TRY(Rows rows, c.exec(q.sql, q.args));
    auto page = make_page<OrganizationMembership>(rows, limit, [](const Rows& r, int i) {
      std::optional<OrgRole> role;
      if (!r.is_null(i, kOrganizationColumnCount)) role = parse_org_role(r.text(i, kOrganizationColumnCount));
      return OrganizationMembership{read_organization(r, i), role};
    });
    RT_TRY(auto total, c.query_int64(count.sql, count.args));
    page.total = total.value_or(0);
    return page;
  });
}

Status PostgresStore::set_token_policy(Id org_id, const TokenPolicy& policy, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(Rows r, c.exec("UPDATE organizations SET default_lifetime_days = $1, max_lifetime_days = $2,"
                          " expiry_warning_days = $3 WHERE id = $4",
                          {policy.default_lifetime_days, policy.max_lifetime_days, policy.expiry_warning_days, org_id}));
    if (r.affected() == 0) return not_found("no organization with id " + std::to_string(org_id));
    return insert_audit(c, audit);
  });
}

Result<std::optional<OrgRole>> PostgresStore::get_role(Id org_id, Id user_id) {
  return read<std::optional<OrgRole>>([&](Connection& c) -> Result<std::optional<OrgRole>> {
    RT_TRY(Rows rows, c.exec("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2", {org_id, user_id}));
    if (rows.size() == 0) return std::optional<OrgRole>();
    return parse_org_role(rows.text(0, 0));
  });
}

Status PostgresStore::set_member(Id org_id, Id user_id, OrgRole role, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY_STATUS(organization_exists(c, org_id));
    RT_TRY_STATUS(user_exists(c, user_id));
    RT_TRY(Rows r, c.exec("INSERT INTO memberships(org_id, user_id, role) VALUES ($1, $2, $3)"
                          " ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                          {org_id, user_id, org_role_name(role)}));
    (void)r;
    return insert_audit(c, audit);
  });
}

Status PostgresStore::remove_member(Id org_id, Id user_id, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(Rows memberships, c.exec("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2", {org_id, user_id}));
    RT_TRY(Rows grants, c.exec("DELETE FROM repository_permissions WHERE user_id = $2 AND repository_id IN"
                               " (SELECT id FROM repositories WHERE org_id = $1)",
                               {org_id, user_id}));
    if (memberships.affected() == 0 && grants.affected() == 0)
      return not_found("user " + std::to_string(user_id) + " is not a member of organization " +
                       std::to_string(org_id));
    return insert_audit(c, audit);
  });
}

Result<Page<Member>> PostgresStore::list_members(Id org_id, const std::string& search,
                                                 std::optional<Id> after_user_id, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  Query q;
  std::string filter = " FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = " + q.bind(org_id);
  if (!search.empty()) {
    std::string pattern = q.bind(like_pattern(search));
    filter += " AND (u.name ILIKE " + pattern + " ESCAPE '\\' OR u.email ILIKE " + pattern + " ESCAPE '\\')";
  }
  Query count{"SELECT count(*)" + filter, q.args};
  if (after_user_id) filter += " AND m.user_id > " + q.bind(*after_user_id);
  q.sql = "SELECT " RT_PG_USER_COLUMNS ", m.role" + filter + " ORDER BY m.user_id LIMIT ";
  q.sql += q.bind(limit + 1);
  return snapshot<Page<Member>>([&](Connection& c) -> Result<Page<Member>> {
    RT_TRY(Rows rows, c.exec(q.sql, q.args));
    auto page = make_page<Member>(rows, limit, [](const Rows& r, int i) {
      return Member{read_user(r, i), parse_org_role(r.text(i, kUserColumnCount)).value_or(OrgRole::member)};
    });
    RT_TRY(auto total, c.query_int64(count.sql, count.args));
    page.total = total.value_or(0);
    return page;
  });
}

}  // namespace rt::postgres
