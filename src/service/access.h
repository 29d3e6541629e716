// Who may see what: resolves the organization or repository a request names, with the caller's rights on
// it. Reads go through caches trusted for the cache TTL, the bound on how late a change made through
// another node (a removed member, a deleted repository) is seen here; changes through this node clear them.
// The repositories in use are re-read in the background (one batched read per half TTL), so that a round
// robin over thousands of them keeps hitting without ever serving one older than the TTL.
#pragma once

#include <optional>
#include <string>

#include "service/periodic.h"
#include "service/service.h"
#include "service/ttl_cache.h"

namespace rt {

// A resolved organization (and repository) with the caller's rights on it.
struct Access {
  Organization org;
  std::optional<OrgRole> role;  // the caller's membership; admin for instance admins
  bool org_admin = false;       // instance admin or organization admin
  std::optional<Repository> repo;
  std::optional<Permission> permission;  // effective permission on `repo` (users only)
};

class AccessResolver {
 public:
  // With a positive `cache_ttl`, starts the repository refresh: every cache_ttl/2 it runs
  // refresh_repositories(). With 0 (caching off) there is no refresh thread.
  AccessResolver(Store& store, std::chrono::milliseconds cache_ttl);

  // not_found naming the organization (or repository) when it does not exist.
  Result<Organization> find_org(const OrgRef& ref);
  Result<Repository> find_repo(Id org_id, const std::string& name);
  // A user's access to an organization; outsiders get the not_found of a missing organization.
  Result<Access> org_access(const Principal& p, const OrgRef& ref);
  // Any principal's access to a repository. A repository the caller may not see answers exactly as one that
  // does not exist. `ci_allowed`: whether a CI-only token (RepositoryToken::ci_only) may pass; only
  // getRepository and coverage upload say so, every other use of such a token is forbidden.
  Result<Access> repo_access(const Principal& p, const RepoRef& ref, bool ci_allowed = false);
  // The anonymous principal's: Public repositories only.
  Result<Access> public_repo_access(const RepoRef& ref);
  // A repository token reading its own repository, answered from the caches alone; nullopt on any miss.
  std::optional<Result<RepositoryView>> try_get_repository_from_memory(const Principal& p, const RepoRef& ref);

  void clear();

  // Re-reads, in batches of kMaxRepositoriesById through Store::get_repositories_by_id, the cached
  // repositories hit within the last TTL whose value is older than a quarter of the TTL, and puts the
  // fresh values with the time taken before the read; one the store no longer has (deleted, renamed,
  // moved) leaves the cache. A store failure leaves that batch's entries as they were (they expire).
  void refresh_repositories();

 private:
  Store& store_;
  std::chrono::milliseconds ttl_;
  TtlCache<std::string, Organization> organizations_;  // "gh/acme"
  TtlCache<std::string, Repository> repositories_;     // "<org id>/<name>"
  TtlCache<std::string, std::optional<OrgRole>> roles_;           // "<org id>/<user id>"
  TtlCache<std::string, std::optional<Permission>> permissions_;  // "<repository id>/<user id>"
  std::optional<PeriodicTask> refresher_;  // last: its thread stops before the caches go
};

}  // namespace rt
