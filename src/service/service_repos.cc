// Repositories (listing, reading, adding, deleting, granting) and their API tokens: the rules of API.md's
// "Rules for repository tokens" live here.
#include <fmt/format.h>

#include "service/internal.h"

namespace rt {
namespace {

Status require_repo_admin(const Access& a, std::string_view what) {
  if (a.permission == Permission::admin) return ok_status();
  return make_error(ErrorKind::forbidden, fmt::format("only an admin of repository {} may {}",
                                                      repo_path(a.org, a.repo->name), what));
}

// Codacy's own `filter` values select by synchronisation state, which a self-hosted server does not have:
// they select everything.
bool is_codacy_sync_filter(std::string_view f) {
  return f == "AllRepositories" || f == "Synced" || f == "NotSynced" || f == "AllSynced";
}

}  // namespace

Result<ListPage<RepositoryView>> Service::list_repositories(const Principal& p, const OrgRef& ref,
                                                            const RepositoryListRequest& req,
                                                            const PageRequest& page) {
  const bool anonymous = p.kind == Principal::Kind::anonymous;
  Access a;
  if (anonymous) {
    RT_TRY(a.org, parts_->resolver.find_org(ref));
  } else {
    RT_TRY(a, parts_->resolver.org_access(p, ref));
  }
  RepositoryQuery q;
  q.org_id = a.org.id;
  if (!anonymous && !a.org_admin) q.viewer = p.user.id;
  if (req.search.size() > 200) return make_error(ErrorKind::invalid, "search must have at most 200 characters");
  q.search = req.search;
  if (!req.filter.empty() && !is_codacy_sync_filter(req.filter)) {
    auto v = parse_visibility(req.filter);
    if (!v)
      return make_error(ErrorKind::invalid, "filter must be one of Public, Private, LoginPublic, AllRepositories, "
                                            "Synced, NotSynced, AllSynced");
    q.visibility = v;
  }
  for (size_t start = 0; start < req.languages.size();) {
    size_t comma = req.languages.find(',', start);
    if (comma == std::string::npos) comma = req.languages.size();
    if (comma > start) q.languages.push_back(req.languages.substr(start, comma - start));
    start = comma + 1;
  }
  if (anonymous) {
    // Without a credential an organization is seen through its Public repositories alone: one with none
    // answers as an unknown one would.
    RepositoryQuery any_public;
    any_public.org_id = a.org.id;
    any_public.visibility = Visibility::Public;
    any_public.limit = 1;
    RT_TRY(Page<RepositoryView> probe, timed("list_repositories", [&] { return store_.list_repositories(any_public); }));
    if (probe.items.empty())
      return make_error(ErrorKind::not_found,
                        fmt::format("organization {}/{} not found", ref.provider, ref.org.substr(0, 100)));
    if (q.visibility && *q.visibility != Visibility::Public) return ListPage<RepositoryView>{{}, 0, page.limit, {}};
    q.visibility = Visibility::Public;
  }
  q.limit = page.limit;
  const std::string scope = fmt::format("repos{}:{}:{}:{}:{}:{}", anonymous ? "-public" : "", a.org.id,
                                        q.viewer.value_or(0), req.search, req.filter, req.languages);
  if (page.cursor) {
    RT_TRY(q.after_name, cursors_.decode(scope, *page.cursor));
  }
  RT_TRY(Page<RepositoryView> rows, timed("list_repositories", [&] { return store_.list_repositories(q); }));
  for (auto& v : rows.items) {
    if (anonymous)
      v.permission = std::nullopt;  // no caller, no permission to report
    else if (a.org_admin)
      v.permission = Permission::admin;
    else if (!v.permission)
      v.permission = Permission::read;  // visible without a grant: not Private
  }
  return to_list_page<RepositoryView>(cursors_, scope, std::move(rows), page.limit,
                                      [](const RepositoryView& v) { return v.repository.name; });
}

Result<RepositoryView> Service::get_repository(const Principal& p, const RepoRef& ref) {
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref, true));
  return RepositoryView{std::move(*a.repo), a.permission};
}

Result<Repository> Service::add_repository(const Principal& p, const AddRepositoryRequest& req) {
  RT_TRY_STATUS(require_user(p));
  const auto slash = req.full_path.find('/');
  if (slash == std::string::npos || req.full_path.find('/', slash + 1) != std::string::npos)
    return make_error(ErrorKind::invalid, "repositoryFullPath must be \"organization/repository\"");
  OrgRef org_ref{req.provider, req.full_path.substr(0, slash)};
  const std::string name = req.full_path.substr(slash + 1);
  RT_TRY_STATUS(check_provider(req.provider));
  RT_TRY_STATUS(check_entity_name("organization", org_ref.org));
  RT_TRY_STATUS(check_entity_name("repository", name));
  RT_TRY(Access a, parts_->resolver.org_access(p, org_ref));
  if (!a.org_admin)
    return make_error(ErrorKind::forbidden, fmt::format("only an admin of {} may add repositories", org_path(a.org)));
  NewRepository repo;
  repo.org_id = a.org.id;
  repo.name = name;
  if (req.visibility) {
    auto v = parse_visibility(*req.visibility);
    if (!v) return make_error(ErrorKind::invalid, "visibility must be one of Public, Private, LoginPublic");
    repo.visibility = *v;
  }
  if (req.languages.size() > 50) return make_error(ErrorKind::invalid, "at most 50 languages per repository");
  for (const auto& lang : req.languages)
    if (lang.empty() || lang.size() > 50 || lang.find(',') != std::string::npos)
      return make_error(ErrorKind::invalid, "each language must have 1 to 50 characters and no comma");
  repo.languages = req.languages;
  repo.remote_identifier = req.remote_identifier.value_or(req.full_path);
  if (repo.remote_identifier.empty() || repo.remote_identifier.size() > 200)
    return make_error(ErrorKind::invalid, "remoteIdentifier must have 1 to 200 characters (the provider's id of the "
                                          "repository, e.g. GitHub's repository id); leave it out to use the full path");
  repo.created_at = clock_.now();
  auto event = audit(p, a.org.id, "repository.create", repo_path(a.org, name));
  return timed("create_repository", [&] { return store_.create_repository(repo, event); });
}

Status Service::delete_repository(const Principal& p, const RepoRef& ref) {
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(require_user(p));
  if (!a.org_admin)
    return make_error(ErrorKind::forbidden,
                      fmt::format("only an admin of {} may delete repositories", org_path(a.org)));
  auto event = audit(p, a.org.id, "repository.delete", repo_path(a.org, a.repo->name));
  auto st = timed("delete_repository", [&] { return store_.delete_repository(a.repo->id, event); });
  invalidate_caches();
  return st;
}

Status Service::set_repository_permission(const Principal& p, const RepoRef& ref, Id user_id,
                                          const std::string& permission) {
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(require_user(p));
  if (!a.org_admin)
    return make_error(ErrorKind::forbidden,
                      fmt::format("only an admin of {} may grant repository permissions", org_path(a.org)));
  auto perm = parse_permission(permission);
  if (!perm) return make_error(ErrorKind::invalid, "permission must be \"admin\", \"write\" or \"read\"");
  // A grant makes the user a member, so that they can reach the repository through the organization.
  RT_TRY(std::optional<OrgRole> role, timed("get_role", [&] { return store_.get_role(a.org.id, user_id); }));
  auto event = audit(p, a.org.id, "repository.permission.set",
                     fmt::format("{} user {}", repo_path(a.org, a.repo->name), user_id),
                     fmt::format("permission={}", permission));
  Status st = role ? ok_status()
                   : timed("set_member", [&] { return store_.set_member(a.org.id, user_id, OrgRole::member, event); });
  if (st.ok()) st = timed("set_permission", [&] { return store_.set_permission(a.repo->id, user_id, *perm, event); });
  invalidate_caches();  // even after a failure: the membership may have changed
  return st;
}

Result<ListPage<RepositoryToken>> Service::list_repository_tokens(const Principal& p, const RepoRef& ref,
                                                                  const PageRequest& page) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(require_repo_admin(a, "list its tokens"));
  const std::string scope = fmt::format("repo-tokens:{}", a.repo->id);
  RT_TRY(std::optional<Id> before, cursor_id(cursors_, scope, page));
  RT_TRY(Page<RepositoryToken> rows, timed("list_repository_tokens", [&] {
           return store_.list_repository_tokens(a.repo->id, before, page.limit);
         }));
  return to_list_page<RepositoryToken>(cursors_, scope, std::move(rows), page.limit,
                                       [](const RepositoryToken& t) { return std::to_string(t.id); });
}

Result<IssuedRepositoryToken> Service::create_repository_token(const Principal& p, const RepoRef& ref,
                                                               const CreateRepositoryTokenRequest& req) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(require_repo_admin(a, "create its tokens"));
  const UnixTime now = clock_.now();
  NewRepositoryToken t;
  t.repository_id = a.repo->id;
  t.created_at = now;
  if (req.name) {
    RT_TRY_STATUS(check_token_name(*req.name));
    t.name = *req.name;
  } else {
    t.name = "token-" + generate_token(TokenKind::repository, random_).substr(kRepositoryTokenPrefix.size(), 12);
  }
  RT_TRY(std::optional<UnixTime> expires, check_future_time("expiresAt", req.expires_at, now));
  const TokenPolicy& policy = a.org.policy;
  const UnixTime latest = now + static_cast<UnixTime>(policy.max_lifetime_days) * 86400;
  if (expires && *expires > latest)
    return make_error(ErrorKind::invalid,
                      fmt::format("expiresAt is beyond the maximum token lifetime of {} days for {} (latest "
                                  "allowed now: {})",
                                  policy.max_lifetime_days, org_path(a.org), format_rfc3339(latest)));
  t.expires_at = expires.value_or(now + static_cast<UnixTime>(policy.default_lifetime_days) * 86400);
  IssuedRepositoryToken issued;
  issued.secret = generate_token(TokenKind::repository, random_);
  t.hash = hasher_.hash_token(issued.secret);
  auto event = audit(p, a.org.id, "repository.token.create", repo_path(a.org, a.repo->name),
                     fmt::format("name={} expiresAt={}", t.name, format_rfc3339(t.expires_at)));
  RT_TRY(issued.token, timed("create_repository_token", [&] {
           return store_.create_repository_token(t, now, kMaxLiveTokensPerRepository, event);
         }));
  metrics::add("repotokens_tokens_created_total", "kind=\"repository\"");
  return issued;
}

Status Service::delete_repository_token(const Principal& p, const RepoRef& ref, Id token_id) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(require_repo_admin(a, "revoke its tokens"));
  const Id ids[] = {token_id};
  auto event = audit(p, a.org.id, "repository.token.delete", repo_path(a.org, a.repo->name),
                     fmt::format("id={}", token_id));
  RT_TRY(int deleted, timed("delete_repository_tokens",
                            [&] { return store_.delete_repository_tokens(a.repo->id, ids, event); }));
  invalidate_caches();
  if (deleted == 0)
    return make_error(ErrorKind::not_found,
                      fmt::format("repository {} has no token with id {}", repo_path(a.org, a.repo->name), token_id));
  metrics::add("repotokens_tokens_revoked_total", "kind=\"repository\"");
  return ok_status();
}

Status Service::delete_repository_tokens(const Principal& p, const RepoRef& ref, const std::vector<Id>& ids) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(require_repo_admin(a, "revoke its tokens"));
  if (ids.empty() || ids.size() > 1000)
    return make_error(ErrorKind::invalid, "ids must list 1 to 1000 token ids");
  std::string listed;
  for (Id id : ids) listed += (listed.empty() ? "" : ",") + std::to_string(id);
  auto event = audit(p, a.org.id, "repository.token.delete", repo_path(a.org, a.repo->name), "ids=" + listed);
  RT_TRY(int deleted, timed("delete_repository_tokens",
                            [&] { return store_.delete_repository_tokens(a.repo->id, ids, event); }));
  invalidate_caches();
  metrics::add("repotokens_tokens_revoked_total", "kind=\"repository\"", deleted);
  return ok_status();
}

}  // namespace rt
