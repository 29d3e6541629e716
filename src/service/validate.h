// Input rules shared by the service's operations: names, token names, expiry, page sizes.
// Each check returns an `invalid` error whose message says what was wrong and what would be right.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"
#include "core/result.h"
#include "core/time.h"

namespace rt {

// Organization and repository names: 1..100 of letters, digits, '.', '_', '-', not "." or "..".
Status check_entity_name(std::string_view what, std::string_view name);

// Repository-token names: 1..100 of letters, digits and dashes.
Status check_token_name(std::string_view name);

// User names: 1..100 characters, no control characters. Emails: 3..254 characters with an '@'.
Status check_user_name(std::string_view name);
Status check_email(std::string_view email);

Result<Provider> check_provider(std::string_view code);

// An optional RFC 3339 expiry that must lie after `now`; `field` names it in messages.
Result<std::optional<UnixTime>> check_future_time(std::string_view field, const std::optional<std::string>& text,
                                                  UnixTime now);

// Echoing refused input that should have been printable ASCII (a commit, a language, a line number): its
// first `max` bytes with every other byte shown as '?', so that no reply and no stored text (PostgreSQL
// refuses invalid UTF-8 and NUL) carries what the client sent as it was.
std::string echo_ascii(std::string_view text, size_t max);
// The longest prefix of valid UTF-8 `text` of at most `max` bytes that does not cut a character.
std::string_view utf8_prefix(std::string_view text, size_t max);

// Decimal 64-bit id from a cursor position or a path segment.
std::optional<Id> parse_id(std::string_view text);

}  // namespace rt
