// Pieces shared by the service's implementation files (not part of its interface).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "ci/rule_index.h"
#include "core/metrics.h"
#include "service/access.h"
#include "service/admission.h"
#include "service/last_use.h"
#include "service/periodic.h"
#include "service/service.h"
#include "service/timed.h"
#include "service/ttl_cache.h"
#include "service/validate.h"

namespace rt {

// The units behind the service's contract, and its caches. Declared in this order so that they stop in
// the reverse one: the CI purge first, the lastUsedAt writer (and its last flush) last.
struct Service::Parts {
  explicit Parts(Service& service);
  LastUseRecorder last_use;
  AccessResolver resolver;
  Admitter admitter;
  std::unique_ptr<CiKeyCache> ci_keys;  // null when no CI issuer is configured
  TtlCache<std::string, std::shared_ptr<const CiRuleIndex>> ci_rules;  // issuer URL -> its trust rules
  std::optional<PeriodicTask> ci_purge;  // while CI issuers are configured
};

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
