// SQLite store: repositories, their keyset listing and per-user repository permissions.
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace rt::sqlite {
namespace {

constexpr const char* kRepositoryFrom = " FROM repositories r JOIN organizations o ON o.id = r.org_id";

Status repository_exists(Connection& c, Id repository_id) {
  RT_TRY(auto found, c.query_int64("SELECT 1 FROM repositories WHERE id = ?1", {repository_id}));
  if (!found) return not_found("no repository with id " + std::to_string(repository_id));
  return ok_status();
}

Result<Repository> one_repository(Connection& c, const std::string& sql, Params params, const std::string& missing) {
  RT_TRY(Rows rows, c.query(sql, params));
  RT_TRY(bool has, rows.next());
  if (!has) return not_found(missing);
  return read_repository(rows);
}

}  // namespace

Result<Repository> SqliteStore::create_repository(const NewRepository& repo, const AuditEvent& audit) {
  return write<Repository>([&](Connection& c) -> Result<Repository> {
    RT_TRY(Rows org, c.query("SELECT provider, name FROM organizations WHERE id = ?1", {repo.org_id}));
    RT_TRY(bool has_org, org.next());
    if (!has_org) return not_found("no organization with id " + std::to_string(repo.org_id));
    Repository made{.id = 0,
                    .org_id = repo.org_id,
                    .provider = parse_provider(org.text(0)).value_or(Provider::gh),
                    .owner = org.text(1),
                    .name = repo.name,
                    .visibility = repo.visibility,
                    .remote_identifier = repo.remote_identifier.empty() ? repo.name : repo.remote_identifier,
                    .languages = repo.languages,
                    .created_at = repo.created_at,
                    .updated_at = repo.created_at};
    auto r = c.execute(
        "INSERT INTO repositories(org_id, name, visibility, remote_identifier, languages, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        {repo.org_id, repo.name, visibility_name(repo.visibility), made.remote_identifier,
         encode_languages(repo.languages), repo.created_at});
    if (!r.ok()) return name_conflict(r.error(), "repository " + made.owner + "/" + repo.name + " already exists");
    made.id = c.last_insert_id();
    RT_TRY_STATUS(insert_audit(c, audit));
    return made;
  });
}

Result<Repository> SqliteStore::get_repository(Id org_id, const std::string& name) {
  return read([&](Connection& c) {
    return one_repository(c, std::string("SELECT " RT_REPOSITORY_COLUMNS) + kRepositoryFrom +
                                 " WHERE r.org_id = ?1 AND r.name = ?2",
                          {org_id, name}, "no repository named " + name + " in this organization");
  });
}

Result<Repository> SqliteStore::get_repository_by_id(Id repository_id) {
  return read([&](Connection& c) {
    return one_repository(c, std::string("SELECT " RT_REPOSITORY_COLUMNS) + kRepositoryFrom + " WHERE r.id = ?1",
                          {repository_id}, "no repository with id " + std::to_string(repository_id));
  });
}

Result<std::vector<Repository>> SqliteStore::get_repositories_by_id(std::span<const Id> ids) {
  RT_TRY_STATUS(check_repository_batch(ids.size()));
  std::vector<Repository> out;
  if (ids.empty()) return out;
  // The ids travel as one JSON array bound to ?1, so every batch size shares one cached statement.
  std::string list = "[";
  for (size_t i = 0; i < ids.size(); ++i) list += (i ? "," : "") + std::to_string(ids[i]);
  list += "]";
  return read([&](Connection& c) -> Result<std::vector<Repository>> {
    RT_TRY(Rows rows, c.query(std::string("SELECT " RT_REPOSITORY_COLUMNS) + kRepositoryFrom +
                                  " WHERE r.id IN (SELECT value FROM json_each(?1))",
                              {list}));
    for (;;) {
      RT_TRY(bool has, rows.next());
      if (!has) return out;
      out.push_back(read_repository(rows));
    }
  });
}

Result<Page<RepositoryView>> SqliteStore::list_repositories(const RepositoryQuery& q) {
  RT_TRY_STATUS(check_limit(q.limit));
  // The text is assembled from fixed fragments, one per filter in use, with anonymous parameters bound in
  // the same order; no value ever becomes SQL text. Each combination is its own cached statement, so
  // every one gets a plan that seeks the (org_id, name) index at `after_name` instead of scanning.
  std::string pattern = like_pattern(q.search);
  std::vector<Value> args;
  std::string filter;  // what follows the repositories table: the viewer's join, then the conditions
  if (q.viewer) {
    filter += " LEFT JOIN repository_permissions p ON p.repository_id = r.id AND p.user_id = ?";
    args.emplace_back(*q.viewer);
  }
  filter += " WHERE r.org_id = ?";
  args.emplace_back(q.org_id);
  if (q.viewer) filter += " AND (p.permission IS NOT NULL OR r.visibility <> 'Private')";
  if (!q.search.empty()) {
    filter += " AND r.name LIKE ? ESCAPE '\\'";
    args.emplace_back(pattern);
  }
  if (q.visibility) {
    filter += " AND r.visibility = ?";
    args.emplace_back(visibility_name(*q.visibility));
  }
  std::vector<std::string> language_patterns;  // owns the text the Values below refer to
  language_patterns.reserve(q.languages.size());
  for (size_t i = 0; i < q.languages.size(); ++i) {  // any of them
    filter += i == 0 ? " AND (" : " OR ";
    filter += "r.languages LIKE ? ESCAPE '\\'";
    args.emplace_back(language_patterns.emplace_back(language_pattern(q.languages[i])));
    if (i + 1 == q.languages.size()) filter += ")";
  }
  // The organization join only decorates rows; the count does without it. Without a viewer, text or
  // language filter the total is read from repository_counts (migration 6): constant cost per page.
  std::string count_sql = "SELECT count(*) FROM repositories r" + filter;
  std::vector<Value> count_args = args;
  if (!q.viewer && q.search.empty() && q.languages.empty()) {
    count_sql = "SELECT coalesce(sum(repositories), 0) FROM repository_counts WHERE org_id = ?";
    count_args = {q.org_id};
    if (q.visibility) {
      count_sql += " AND visibility = ?";
      count_args.emplace_back(visibility_name(*q.visibility));
    }
  }
  if (q.after_name) {
    filter += " AND r.name > ?";
    args.emplace_back(*q.after_name);
  }
  std::string page_sql = std::string("SELECT " RT_REPOSITORY_COLUMNS) + (q.viewer ? ", p.permission" : ", NULL") +
                         kRepositoryFrom + filter + " ORDER BY r.name LIMIT ?";
  args.emplace_back(q.limit + 1);

  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<RepositoryView>> {
      RT_TRY(Rows rows, c.query(page_sql, args));
      RT_TRY(auto page, read_page<RepositoryView>(rows, q.limit, [](const Rows& r) {
               std::optional<Permission> permission;
               if (!r.is_null(kRepositoryColumnCount)) permission = parse_permission(r.text(kRepositoryColumnCount));
               return RepositoryView{read_repository(r), permission};
             }));
      RT_TRY(auto total, c.query_int64(count_sql, count_args));
      page.total = total.value_or(0);
      return page;
    });
  });
}

Status SqliteStore::delete_repository(Id repository_id, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    // Tokens and permissions go with it: ON DELETE CASCADE, with foreign keys on.
    RT_TRY(int deleted, c.execute("DELETE FROM repositories WHERE id = ?1", {repository_id}));
    if (deleted == 0) return not_found("no repository with id " + std::to_string(repository_id));
    return insert_audit(c, audit);
  });
}

Result<std::optional<Permission>> SqliteStore::get_permission(Id repository_id, Id user_id) {
  return read([&](Connection& c) -> Result<std::optional<Permission>> {
    RT_TRY(Rows rows, c.query("SELECT permission FROM repository_permissions WHERE repository_id = ?1 AND user_id = ?2",
                              {repository_id, user_id}));
    RT_TRY(bool has, rows.next());
    if (!has) return std::optional<Permission>();
    return parse_permission(rows.text(0));
  });
}

Status SqliteStore::set_permission(Id repository_id, Id user_id, Permission permission, const AuditEvent& audit) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY_STATUS(repository_exists(c, repository_id));
    RT_TRY_STATUS(user_exists(c, user_id));
    RT_TRY(int changed, c.execute("INSERT INTO repository_permissions(repository_id, user_id, permission)"
                                  " VALUES (?1, ?2, ?3) ON CONFLICT (repository_id, user_id)"
                                  " DO UPDATE SET permission = excluded.permission",
                                  {repository_id, user_id, permission_name(permission)}));
    (void)changed;
    return insert_audit(c, audit);
  });
}

}  // namespace rt::sqlite
