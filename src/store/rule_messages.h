// The words both stores use for the rules they enforce (a taken name, the live-token cap, a missing row, a
// bad limit), kept here so that SQLite and PostgreSQL refuse the same thing with the same message.
#pragma once

#include <cstdint>
#include <string>

#include "core/model.h"
#include "core/result.h"

namespace rt {

inline Error not_found(std::string message) { return make_error(ErrorKind::not_found, std::move(message)); }

// A unique-constraint `conflict` gets a message naming what is taken; other errors pass unchanged.
Error name_conflict(Error error, std::string message);

// `invalid` unless 1 <= limit.
Status check_limit(int limit);

// `invalid` when a get_repositories_by_id asks more than kMaxRepositoriesById ids.
Status check_repository_batch(size_t ids);

// "gh/acme": an organization as messages name it.
std::string org_label(Provider provider, const std::string& name);

// The `conflict` of a repository token creation refused by the live-token rules: a live token of that name
// exists, or the repository has `live` live tokens of at most `max_live`.
Error live_token_name_taken(const std::string& name);
Error live_token_cap_reached(std::int64_t live, int max_live);

}  // namespace rt
