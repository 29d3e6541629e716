// AccessResolver: the organization and repository lookups behind every access check, and the rules of
// who sees what (members, instance admins, project tokens, anonymous callers of Public repositories).
#include "service/access.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "service/internal.h"

namespace rt {

AccessResolver::AccessResolver(Store& store, std::chrono::milliseconds ttl)
    : store_(store), ttl_(ttl), organizations_(ttl), repositories_(ttl), roles_(ttl), permissions_(ttl) {
  if (ttl.count() > 0)
    refresher_.emplace(ttl / 2, std::max(ttl / 2, std::chrono::milliseconds(1)), [this] { refresh_repositories(); });
}

namespace {
std::string repo_key(Id org_id, const std::string& name) { return fmt::format("{}/{}", org_id, name); }
}  // namespace

void AccessResolver::refresh_repositories() {
  // Every entry hit within the last TTL, not only since the last run: one hit in the last interval of an
  // entry's life would otherwise come too late for a run before it expires, and a round robin whose period
  // lies between TTL/2 and TTL would keep missing. Older than TTL/4: skips what a miss has just read.
  auto used = repositories_.hit_within_ttl(ttl_ / 4);
  for (size_t first = 0; first < used.size(); first += kMaxRepositoriesById) {
    const size_t last = std::min(used.size(), first + kMaxRepositoriesById);
    std::vector<Id> ids;
    ids.reserve(last - first);
    for (size_t i = first; i < last; ++i) ids.push_back(used[i].second.id);
    auto loaded = std::chrono::steady_clock::now();
    auto fresh = timed("get_repositories_by_id", [&] { return store_.get_repositories_by_id(ids); });
    if (!fresh.ok()) continue;  // the entries expire as they would have without a refresh
    std::unordered_map<Id, Repository*> by_id;
    for (Repository& r : *fresh) by_id.emplace(r.id, &r);
    for (size_t i = first; i < last; ++i) {
      const std::string& key = used[i].first;
      auto it = by_id.find(used[i].second.id);
      // Under its key still, or gone: a renamed or moved repository no longer answers to the old name.
      if (it != by_id.end() && repo_key(it->second->org_id, it->second->name) == key)
        repositories_.refresh(key, *it->second, loaded);
      else
        repositories_.refresh(key, std::nullopt, loaded);
    }
  }
}

void AccessResolver::clear() {
  organizations_.clear();
  repositories_.clear();
  roles_.clear();
  permissions_.clear();
}

Result<Repository> AccessResolver::find_repo(Id org_id, const std::string& name) {
  return cached(repositories_, repo_key(org_id, name),
                [&] { return store_.get_repository(org_id, name); }, "get_repository");
}

Result<Organization> AccessResolver::find_org(const OrgRef& ref) {
  RT_TRY(Provider provider, check_provider(ref.provider));
  auto org = cached(organizations_, fmt::format("{}/{}", ref.provider, ref.org),
                    [&] { return store_.get_organization(provider, ref.org); }, "get_organization");
  if (!org.ok() && org.error().kind == ErrorKind::not_found)
    return make_error(ErrorKind::not_found,
                      fmt::format("organization {}/{} not found", ref.provider, ref.org.substr(0, 100)));
  return org;
}

Result<Access> AccessResolver::org_access(const Principal& p, const OrgRef& ref) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Organization org, find_org(ref));
  RT_TRY(std::optional<OrgRole> role, cached(roles_, fmt::format("{}/{}", org.id, p.user.id),
                                             [&] { return store_.get_role(org.id, p.user.id); }, "get_role"));
  if (!role && !p.user.is_admin)  // outsiders learn nothing, not even that it exists
    return make_error(ErrorKind::not_found,
                      fmt::format("organization {}/{} not found", ref.provider, ref.org.substr(0, 100)));
  Access a;
  a.org = std::move(org);
  a.org_admin = p.user.is_admin || role == OrgRole::admin;
  a.role = a.org_admin ? OrgRole::admin : *role;
  return a;
}

namespace {
// The one answer for a repository the caller may not see and for one that does not exist.
Error repository_not_found(const RepoRef& ref) {
  return make_error(ErrorKind::not_found, fmt::format("repository {}/{}/{} not found", ref.org.provider,
                                                      ref.org.org.substr(0, 100), ref.repo.substr(0, 100)));
}
}  // namespace

Result<Access> AccessResolver::repo_access(const Principal& p, const RepoRef& ref, bool ci_allowed) {
  auto not_found = [&] { return repository_not_found(ref); };
  if (p.kind == Principal::Kind::anonymous) return public_repo_access(ref);
  if (p.kind == Principal::Kind::repository_token) {
    if (p.repository_token.ci_only && !ci_allowed)
      return make_error(ErrorKind::forbidden, "this token was issued by a CI exchange: it may upload coverage and "
                                              "read its repository (getRepository), nothing else");
    // A project token sees exactly one repository; any other answers as if it did not exist.
    auto org = find_org(ref.org);
    if (!org.ok()) return org.error().kind == ErrorKind::not_found ? not_found() : org.error();
    auto repo = find_repo(org->id, ref.repo);
    if (!repo.ok()) return repo.error().kind == ErrorKind::not_found ? not_found() : repo.error();
    if (repo->id != p.repository_token.repository_id) return not_found();
    Access a;
    a.org = std::move(org).value();
    a.repo = std::move(repo).value();
    return a;
  }
  auto access = org_access(p, ref.org);
  if (!access.ok()) return access.error().kind == ErrorKind::not_found ? not_found() : access.error();
  Access a = std::move(access).value();
  auto repo = find_repo(a.org.id, ref.repo);
  if (!repo.ok()) return repo.error().kind == ErrorKind::not_found ? not_found() : repo.error();
  if (a.org_admin) {
    a.permission = Permission::admin;
  } else {
    RT_TRY(std::optional<Permission> grant,
           cached(permissions_, fmt::format("{}/{}", repo->id, p.user.id),
                  [&] { return store_.get_permission(repo->id, p.user.id); }, "get_permission"));
    if (grant)
      a.permission = grant;
    else if (repo->visibility != Visibility::Private)
      a.permission = Permission::read;
    else
      return not_found();
  }
  a.repo = std::move(repo).value();
  return a;
}

// Without a credential only Public repositories exist; the answer for any other is the one for a
// repository that does not exist, word for word.
Result<Access> AccessResolver::public_repo_access(const RepoRef& ref) {
  auto not_found = [&] { return repository_not_found(ref); };
  auto org = find_org(ref.org);
  if (!org.ok()) return org.error().kind == ErrorKind::not_found ? not_found() : org.error();
  auto repo = find_repo(org->id, ref.repo);
  if (!repo.ok()) return repo.error().kind == ErrorKind::not_found ? not_found() : repo.error();
  if (repo->visibility != Visibility::Public) return not_found();
  Access a;
  a.org = std::move(org).value();
  a.repo = std::move(repo).value();
  return a;
}

std::optional<Result<RepositoryView>> AccessResolver::try_get_repository_from_memory(const Principal& p,
                                                                              const RepoRef& ref) {
  if (p.kind != Principal::Kind::repository_token) return std::nullopt;
  auto org = organizations_.get(fmt::format("{}/{}", ref.org.provider, ref.org.org));
  if (!org) return std::nullopt;
  auto repo = repositories_.get(repo_key(org->id, ref.repo));
  if (!repo || repo->id != p.repository_token.repository_id) return std::nullopt;
  return Result<RepositoryView>(RepositoryView{std::move(*repo), std::nullopt});
}

}  // namespace rt
