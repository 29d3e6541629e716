// PostgreSQL store: repositories, their keyset listing and per-user repository permissions.
#include "store/postgres/pg_rows.h"
#include "store/postgres/postgres_store.h"
#include "store/encodings.h"

namespace rt::postgres {
namespace {

constexpr const char* kRepositoryFrom = " FROM repositories r JOIN organizations o ON o.id = r.org_id";

Status repository_exists(Connection& c, Id repository_id) {
  RT_TRY(auto found, c.query_int64("SELECT 1 FROM repositories WHERE id = $1", {repository_id}));
  if (!found) return not_found("no repository with id " + std::to_string(repository_id));
  return ok_status();
}

Result<Repository> one_repository(Connection& c, const std::string& sql, const Params& params,
                                  const std::string& missing) {
  RT_TRY(Rows rows, c.exec(sql, params));
  if (rows.size() == 0) return not_found(missing);
  return read_repository(rows, 0);
}

}  // namespace

Result<Repository> PostgresStore::create_repository(const NewRepository& repo, const AuditEvent& audit) {
  return write<Repository>([&](Connection& c) -> Result<Repository> {
    RT_TRY(Rows org, c.exec("SELECT provider, name FROM organizations WHERE id = $1", {repo.org_id}));
    if (org.size() == 0) return not_found("no organization with id " + std::to_string(repo.org_id));
    Repository made{.id = 0,
                    .org_id = repo.org_id,
                    .provider = parse_provider(org.text(0, 0)).value_or(Provider::gh),
                    .owner = org.text(0, 1),
                    .name = repo.name,
                    .visibility = repo.visibility,
                    .remote_identifier = repo.remote_identifier.empty() ? repo.name : repo.remote_identifier,
                    .languages = repo.languages,
                    .created_at = repo.created_at,
                    .updated_at = repo.created_at};
    auto r = c.query_int64(
        "INSERT INTO repositories(org_id, name, visibility, remote_identifier, languages, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        {repo.org_id, repo.name, visibility_name(repo.visibility), made.remote_identifier,
         encode_languages(repo.languages), repo.created_at});
    if (!r.ok()) return name_conflict(r.error(), "repository " + made.owner + "/" + repo.name + " already exists");
    made.id = r->value_or(0);
    RT_TRY_STATUS(insert_audit(c, audit));
    return made;
  });
}

Result<Repository> PostgresStore::get_repository(Id org_id, const std::string& name) {
  return read<Repository>([&](Connection& c) {
    return one_repository(c, std::string("SELECT " RT_PG_REPOSITORY_COLUMNS) + kRepositoryFrom +
                                 " WHERE r.org_id = $1 AND r.name = $2",
                          {org_id, name}, "no repository named " + name + " in this organization");
  });
}

Result<Repository> PostgresStore::get_repository_by_id(Id repository_id) {
  return read<Repository>([&](Connection& c) {
    return one_repository(c, std::string("SELECT " RT_PG_REPOSITORY_COLUMNS) + kRepositoryFrom + " WHERE r.id = $1",
                          {repository_id}, "no repository with id " + std::to_string(repository_id));
  });
}

Result<std::vector<Repository>> PostgresStore::get_repositories_by_id(std::span<const Id> ids) {
  RT_TRY_STATUS(check_repository_batch(ids.size()));
  std::vector<Repository> out;
  if (ids.empty()) return out;
  return read<std::vector<Repository>>([&](Connection& c) -> Result<std::vector<Repository>> {
    RT_TRY(Rows rows, c.exec(std::string("SELECT " RT_PG_REPOSITORY_COLUMNS) + kRepositoryFrom +
                                 " WHERE r.id = ANY($1::bigint[])",
                             {id_array(ids)}));
    for (int i = 0; i < rows.size(); ++i) out.push_back(read_repository(rows, i));
    return out;
  });
}

Result<Page<RepositoryView>> PostgresStore::list_repositories(const RepositoryQuery& rq) {
  RT_TRY_STATUS(check_limit(rq.limit));
  // One fixed fragment per filter in use, so each combination is its own prepared statement and plan.
  Query q;
  std::string from = kRepositoryFrom;
  if (rq.viewer)
    from += " LEFT JOIN repository_permissions p ON p.repository_id = r.id AND p.user_id = " + q.bind(*rq.viewer);
  from += " WHERE r.org_id = " + q.bind(rq.org_id);
  if (rq.viewer) from += " AND (p.permission IS NOT NULL OR r.visibility <> 'Private')";
  if (!rq.search.empty()) from += " AND r.name ILIKE " + q.bind(like_pattern(rq.search)) + " ESCAPE '\\'";
  if (rq.visibility) from += " AND r.visibility = " + q.bind(visibility_name(*rq.visibility));
  for (size_t i = 0; i < rq.languages.size(); ++i)  // any of them
    from += (i == 0 ? " AND (r.languages ILIKE " : " OR r.languages ILIKE ") +
            q.bind(language_pattern(rq.languages[i])) + " ESCAPE '\\'" +
            (i + 1 == rq.languages.size() ? ")" : "");
  Query count{"SELECT count(*)" + from, q.args};
  if (!rq.viewer && rq.search.empty() && rq.languages.empty()) {  // constant cost: migration 5's counters
    count = Query{};
    count.sql = "SELECT coalesce(sum(repositories), 0)::bigint FROM repository_counts WHERE org_id = " + count.bind(rq.org_id);
    if (rq.visibility) count.sql += " AND visibility = " + count.bind(visibility_name(*rq.visibility));
  }
  if (rq.after_name) from += " AND r.name > " + q.bind(*rq.after_name);
  q.sql = std::string("SELECT " RT_PG_REPOSITORY_COLUMNS) + (rq.viewer ? ", p.permission" : ", NULL") + from +
          " ORDER BY r.name LIMIT ";
  q.sql += q.bind(rq.limit + 1);
  return snapshot<Page<RepositoryView>>([&](Connection& c) -> Result<Page<RepositoryView>> {
    RT_TRY(Rows rows, c.exec(q.sql, q.args));
    auto page = make_page<RepositoryView>(rows, rq.limit, [](const Rows& r, int i) {
      std::optional<Permission> permission;
      if (!r.is_null(i, kRepositoryColumnCount)) permission = parse_permission(r.text(i, kRepositoryColumnCount));
      return RepositoryView{read_repository(r, i), permission};
    });
    RT_TRY(auto total, c.query_int64(count.sql, count.args));
    page.total = total.value_or(0);
    return page;
  });
}

Status PostgresStore::delete_repository(Id repository_id, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    // Tokens and permissions go with it (ON DELETE CASCADE).
    RT_TRY(Rows r, c.exec("DELETE FROM repositories WHERE id = $1", {repository_id}));
    if (r.affected() == 0) return not_found("no repository with id " + std::to_string(repository_id));
    return insert_audit(c, audit);
  });
}

Result<std::optional<Permission>> PostgresStore::get_permission(Id repository_id, Id user_id) {
  return read<std::optional<Permission>>([&](Connection& c) -> Result<std::optional<Permission>> {
    RT_TRY(Rows rows, c.exec("SELECT permission FROM repository_permissions WHERE repository_id = $1 AND user_id = $2",
                             {repository_id, user_id}));
    if (rows.size() == 0) return std::optional<Permission>();
    return parse_permission(rows.text(0, 0));
  });
}

Status PostgresStore::set_permission(Id repository_id, Id user_id, Permission permission, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY_STATUS(repository_exists(c, repository_id));
    RT_TRY_STATUS(user_exists(c, user_id));
    RT_TRY(Rows r, c.exec("INSERT INTO repository_permissions(repository_id, user_id, permission) VALUES ($1, $2, $3)"
                          " ON CONFLICT (repository_id, user_id) DO UPDATE SET permission = excluded.permission",
                          {repository_id, user_id, permission_name(permission)}));
    (void)r;
    return insert_audit(c, audit);
  });
}

}  // namespace rt::postgres
