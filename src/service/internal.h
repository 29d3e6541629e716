// Pieces shared by the service's implementation files (not part of its interface).
#pragma once

#include <chrono>
#include <string>

#include "core/metrics.h"
#include "service/service.h"
#include "service/validate.h"

namespace rt {

// A resolved organization (and repository) with the caller's rights on it.
struct Service::Access {
  Organization org;
  std::optional<OrgRole> role;  // the caller's membership; admin for instance admins
  bool org_admin = false;       // instance admin or organization admin
  std::optional<Repository> repo;
  std::optional<Permission> permission;  // effective permission on `repo` (users only)
};

// The metric label `op="<op>"`, built once per thread and operation (ops are string literals).
const std::string& store_op_label(const char* op);

// Runs a store call and records its latency under `op`.
template <class F>
auto timed(const char* op, F&& f) {
  auto start = std::chrono::steady_clock::now();
  auto result = f();
  metrics::observe("repotokens_store_duration_seconds", store_op_label(op),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return result;
}

// A store read through a TtlCache: a hit skips the store; a successful read is remembered.
template <class Cache, class Key, class F>
auto cached(Cache& cache, const Key& key, F&& read, const char* op) -> decltype(read()) {
  if (auto hit = cache.get(key)) return std::move(*hit);
  auto loaded = Cache::SteadyClock::now();
  auto result = timed(op, read);
  if (result.ok()) cache.put(key, result.value(), loaded);
  return result;
}

// Only an account token (a user) may do this.
Status require_user(const Principal& p);

std::string org_path(const Organization& org);
std::string repo_path(const Organization& org, const std::string& repo);

// Builds the page answer from a store page: the cursor (when more rows follow) encodes `position(last)`.
template <class T, class Item, class Pos>
ListPage<T> to_list_page(const CursorCodec& codec, const std::string& scope, Page<Item>&& page, int limit,
                         Pos&& position) {
  ListPage<T> out;
  out.total = page.total;
  out.limit = limit;
  if (page.more && !page.items.empty()) out.cursor = codec.encode(scope, position(page.items.back()));
  out.items.reserve(page.items.size());
  for (auto& item : page.items) out.items.push_back(T(std::move(item)));
  return out;
}

// The position carried by `page.cursor` for `scope`, as an id.
Result<std::optional<Id>> cursor_id(const CursorCodec& codec, const std::string& scope, const PageRequest& page);

}  // namespace rt
