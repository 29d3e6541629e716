// The rule messages both stores share (store/rule_messages.h).
#include "store/rule_messages.h"

#include <fmt/format.h>

#include "store/store.h"

namespace rt {

Error name_conflict(Error error, std::string message) {
  if (error.kind == ErrorKind::conflict) error.message = std::move(message);
  return error;
}

Status check_limit(int limit) {
  if (limit < 1) return make_error(ErrorKind::invalid, "limit must be at least 1");
  return ok_status();
}

Status check_repository_batch(size_t ids) {
  if (ids > kMaxRepositoriesById)
    return make_error(ErrorKind::invalid, fmt::format("at most {} repository ids per read, not {}",
                                                      kMaxRepositoriesById, ids));
  return ok_status();
}

std::string org_label(Provider provider, const std::string& name) {
  return fmt::format("{}/{}", provider_code(provider), name);
}

Error live_token_name_taken(const std::string& name) {
  return make_error(ErrorKind::conflict, "a live token named " + name + " already exists on this repository");
}

Error live_token_cap_reached(std::int64_t live, int max_live) {
  return make_error(ErrorKind::conflict,
                    live == max_live ? fmt::format("repository already has {} live tokens, the maximum; revoke one first",
                                                   max_live)
                                     : fmt::format("repository has {} live tokens, the maximum is {}; revoke one first",
                                                   live, max_live));
}

}  // namespace rt
