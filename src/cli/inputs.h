// Parsing of the operator's inputs that are not plain strings: expiry (`90d` or a date), durations,
// timeouts, `--rate 50/s`, token names, repository selection globs and repository files, and the
// "did you mean" suggestion for a mistyped name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace rt::cli {

// `--expires`: a duration from now ("90d", "12h", "2w") or an RFC 3339 date/date-time in the future.
Result<UnixTime> parse_expiry(std::string_view text, UnixTime now, std::string_view option = "--expires");

// A duration ("14d", "30m", "45s"); `option` names the flag in the error.
Result<std::int64_t> parse_duration_option(std::string_view text, std::string_view option);

// A timeout: a number with a unit, "500ms", "5s", "1.5s", "2m" -> milliseconds (1 ms .. 1 hour). A bare
// number is refused (is "30" seconds or milliseconds?); `option` names the flag or config key in the error.
Result<long> parse_timeout(std::string_view text, std::string_view option);

// `--rate`: a count per period, the unit mandatory: "50/s", "3000/min" (or "/m"), "100/h", "2500/5m"
// -> requests per second (> 0). "50" alone is refused with a message that shows the forms.
Result<double> parse_rate(std::string_view text);

// The candidate nearest to `typed` by edit distance (case-insensitive), when it is near enough to be a
// plausible typo (at most 1 edit for short names, at most a third of the length for long ones, or
// `typed` is a prefix of exactly one candidate); nullopt otherwise.
std::optional<std::string> nearest_name(std::string_view typed, const std::vector<std::string>& candidates);

// Repository token names: letters, digits and dashes, 1..max_length characters.
Status check_token_name(std::string_view name, size_t max_length, std::string_view option = "--name");

// Which repositories a bulk command works on: --match globs (any may match; none given = all), minus
// --exclude globs, restricted to the names of --repos-file when one is given.
struct Selection {
  std::vector<std::string> match;
  std::vector<std::string> exclude;
  std::optional<std::unordered_set<std::string>> listed;  // from --repos-file
  bool selects(std::string_view repo) const;
};

// `--claim NAME=VALUE` (repeatable) -> (name, value) pairs in order. A name is letters, digits and
// `_ - . :`; the value is everything after the first `=` and must not be empty. A malformed or repeated
// claim is an `invalid` error naming it and showing the form.
Result<std::vector<std::pair<std::string, std::string>>> parse_claims(const std::vector<std::string>& given);

// Glob with *, ? and [...] (fnmatch semantics; `/` is an ordinary character).
bool glob_matches(std::string_view pattern, std::string_view text);

// Reads a file of repository names, one a line; blank lines and `#` comments are skipped, surrounding
// spaces trimmed, duplicates dropped. Errors name the file and line.
Result<std::vector<std::string>> read_repository_file(const std::string& path);

}  // namespace rt::cli
