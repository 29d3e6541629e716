// SQLite store: organizations, their token policy and their members.
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace rt::sqlite {
namespace {

Status organization_exists(Connection& c, Id org_id) {
  RT_TRY(auto found, c.query_int64("SELECT 1 FROM organizations WHERE id = ?1", {org_id}));
  if (!found) return not_found("no organization with id " + std::to_string(org_id));
  return ok_status();
}

}  // namespace

Result<Organization> SqliteStore::create_organization(const NewOrganization& org, Id creator,
                                                      const AuditEvent& audit) {
  return write<Organization>([&](Connection& c) -> Result<Organization> {
    RT_TRY_STATUS(user_exists(c, creator));
    const std::string& remote = org.remote_identifier.empty() ? org.name : org.remote_identifier;
    auto r = c.execute(
        "INSERT INTO organizations(provider, name, remote_identifier, type, created_at, default_lifetime_days,"
        " max_lifetime_days, expiry_warning_days) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        {provider_code(org.provider), org.name, remote, org_type_name(org.type), org.created_at,
         org.policy.default_lifetime_days, org.policy.max_lifetime_days, org.policy.expiry_warning_days});
    if (!r.ok())
      return name_conflict(r.error(), "an organization " + org_label(org.provider, org.name) + " already exists");
    Id id = c.last_insert_id();
    RT_TRY(int added, c.execute("INSERT INTO memberships(org_id, user_id, role) VALUES (?1, ?2, 'admin')",
                                {id, creator}));
    (void)added;
    // The caller cannot know the new organization's id: the event is filed under it.
    AuditEvent event = audit;
    if (!event.org_id) event.org_id = id;
    RT_TRY_STATUS(insert_audit(c, event));
    return Organization{.id = id, .provider = org.provider, .name = org.name, .remote_identifier = remote,
                        .type = org.type, .created_at = org.created_at, .policy = org.policy};
  });
}

Result<Organization> SqliteStore::get_organization(Provider provider, const std::string& name) {
  return read([&](Connection& c) -> Result<Organization> {
    RT_TRY(Rows rows, c.query("SELECT " RT_ORGANIZATION_COLUMNS " FROM organizations o"
                              " WHERE o.provider = ?1 AND o.name = ?2",
                              {provider_code(provider), name}));
    RT_TRY(bool has, rows.next());
    if (!has) return not_found("no organization " + org_label(provider, name));
    return read_organization(rows);
  });
}

Result<Organization> SqliteStore::get_organization_by_id(Id org_id) {
  return read([&](Connection& c) -> Result<Organization> {
    RT_TRY(Rows rows, c.query("SELECT " RT_ORGANIZATION_COLUMNS " FROM organizations o WHERE o.id = ?1", {org_id}));
    RT_TRY(bool has, rows.next());
    if (!has) return not_found("no organization with id " + std::to_string(org_id));
    return read_organization(rows);
  });
}

Result<Page<OrganizationMembership>> SqliteStore::list_organizations(Id user_id, bool all,
                                                                     std::optional<Provider> provider,
                                                                     std::optional<Id> after_id, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  // The text is assembled from fixed fragments only (which filters apply); every value is a parameter.
  std::string from = all ? " FROM organizations o LEFT JOIN memberships m ON m.org_id = o.id AND m.user_id = ?1"
                         : " FROM organizations o JOIN memberships m ON m.org_id = o.id AND m.user_id = ?1";
  std::string where = provider ? " WHERE o.provider = ?2" : " WHERE 1";
  std::string page_sql = "SELECT " RT_ORGANIZATION_COLUMNS ", m.role" + from + where +
                         (after_id ? " AND o.id > ?3" : "") + " ORDER BY o.id LIMIT ?4";
  std::string count_sql = "SELECT count(*)" + from + where;
  std::optional<std::string> provider_text;
  if (provider) provider_text = std::string(provider_code(*provider));
  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<OrganizationMembership>> {
      RT_TRY(Rows rows, c.query(page_sql, {user_id, provider_text, after_id, limit + 1}));
      RT_TRY(auto page, read_page<OrganizationMembership>(rows, limit, [](const Rows& r) {
               std::optional<OrgRole> role;
               if (!r.is_null(kOrganizationColumnCount)) role = parse_org_role(r.text(kOrganizationColumnCount));
               return OrganizationMembership{read_organization(r), role};
             }));
      RT_TRY(auto total, provider ? c.query_int64(count_sql, {user_id, provider_text})
                                  : c.query_int64(count_sql, {user_id}));
      page.total = total.value_or(0);
      return page;
    });
  });
}

Status SqliteStore::set_token_policy(Id org_id, const TokenPolicy& policy, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(int changed, c.execute("UPDATE organizations SET default_lifetime_days = ?1, max_lifetime_days = ?2,"
                                  " expiry_warning_days = ?3 WHERE id = ?4",
                                  {policy.default_lifetime_days, policy.max_lifetime_days,
                                   policy.expiry_warning_days, org_id}));
    if (changed == 0) return not_found("no organization with id " + std::to_string(org_id));
    return insert_audit(c, audit);
  });
}

Result<std::optional<OrgRole>> SqliteStore::get_role(Id org_id, Id user_id) {
  return read([&](Connection& c) -> Result<std::optional<OrgRole>> {
    RT_TRY(Rows rows, c.query("SELECT role FROM memberships WHERE org_id = ?1 AND user_id = ?2", {org_id, user_id}));
    RT_TRY(bool has, rows.next());
    if (!has) return std::optional<OrgRole>();
    return parse_org_role(rows.text(0));
  });
}

Status SqliteStore::set_member(Id org_id, Id user_id, OrgRole role, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY_STATUS(organization_exists(c, org_id));
    RT_TRY_STATUS(user_exists(c, user_id));
    RT_TRY(int changed, c.execute("INSERT INTO memberships(org_id, user_id, role) VALUES (?1, ?2, ?3)"
                                  " ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                                  {org_id, user_id, org_role_name(role)}));
    (void)changed;
    return insert_audit(c, audit);
  });
}

Status SqliteStore::remove_member(Id org_id, Id user_id, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(int memberships, c.execute("DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2", {org_id, user_id}));
    RT_TRY(int grants, c.execute("DELETE FROM repository_permissions WHERE user_id = ?2 AND repository_id IN"
                                 " (SELECT id FROM repositories WHERE org_id = ?1)",
                                 {org_id, user_id}));
    if (memberships == 0 && grants == 0)
      return not_found("user " + std::to_string(user_id) + " is not a member of organization " +
                       std::to_string(org_id));
    return insert_audit(c, audit);
  });
}

Result<Page<Member>> SqliteStore::list_members(Id org_id, const std::string& search, std::optional<Id> after_user_id,
                                               int limit) {
  RT_TRY_STATUS(check_limit(limit));
  std::string filter = " FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1";
  if (!search.empty()) filter += " AND (u.name LIKE ?2 ESCAPE '\\' OR u.email LIKE ?2 ESCAPE '\\')";
  std::string page_sql = "SELECT " RT_USER_COLUMNS ", m.role" + filter +
                         (after_user_id ? " AND m.user_id > ?3" : "") + " ORDER BY m.user_id LIMIT ?4";
  std::string count_sql = "SELECT count(*)" + filter;
  std::string pattern = like_pattern(search);
  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<Member>> {
      RT_TRY(Rows rows, c.query(page_sql, {org_id, pattern, after_user_id, limit + 1}));
      RT_TRY(auto page, read_page<Member>(rows, limit, [](const Rows& r) {
               return Member{read_user(r), parse_org_role(r.text(kUserColumnCount)).value_or(OrgRole::member)};
             }));
      RT_TRY(auto total, search.empty() ? c.query_int64(count_sql, {org_id})
                                        : c.query_int64(count_sql, {org_id, pattern}));
      page.total = total.value_or(0);
      return page;
    });
  });
}

}  // namespace rt::sqlite
