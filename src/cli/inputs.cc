// Input parsing for the CLI: expiry, durations, timeouts, rates, names, globs, repository files, suggestions.
#include "cli/inputs.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <set>

namespace rt::cli {

Result<UnixTime> parse_expiry(std::string_view text, UnixTime now, std::string_view option) {
  std::string opt(option);
  if (auto seconds = parse_duration(text)) return now + *seconds;
  if (auto at = parse_rfc3339(text)) {
    if (*at <= now) return make_error(ErrorKind::invalid, opt + ": " + std::string(text) + " is in the past");
    return *at;
  }
  return make_error(ErrorKind::invalid, opt + ": '" + std::string(text) +
                                            "' is neither a duration (90d, 12h, 2w) nor a date (2027-01-31)");
}

Result<std::int64_t> parse_duration_option(std::string_view text, std::string_view option) {
  if (auto seconds = parse_duration(text)) return *seconds;
  return make_error(ErrorKind::invalid, std::string(option) + ": '" + std::string(text) +
                                            "' is not a duration (e.g. 14d, 12h, 30m, 45s)");
}

Result<long> parse_timeout(std::string_view text, std::string_view option) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::invalid, std::string(option) + ": '" + std::string(text) + "' " + why);
  };
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || !std::isfinite(value)) return bad("is not a duration (e.g. 5s, 500ms, 2m)");
  std::string_view unit(end, text.data() + text.size() - end);
  double ms_per_unit = 0;
  if (unit == "ms") ms_per_unit = 1;
  else if (unit == "s") ms_per_unit = 1000;
  else if (unit == "m" || unit == "min") ms_per_unit = 60'000;
  else if (unit.empty()) return bad("has no unit; write " + std::string(text) + "s (seconds) or " + std::string(text) + "ms");
  else return bad("has an unknown unit '" + std::string(unit) + "' (use ms, s or m, e.g. 5s)");
  const double ms = value * ms_per_unit;
  if (ms < 1 || ms > 3'600'000) return bad("is out of range (1ms to 60m)");
  return static_cast<long>(ms);
}

Result<double> parse_rate(std::string_view text) {
  const std::string t(text);
  auto bad = [&] {
    return make_error(ErrorKind::invalid, "--rate: '" + t + "' is not a rate; write a count per period, e.g. 50/s, 3000/min, 2500/5m");
  };
  double count = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (ec != std::errc() || !std::isfinite(count) || count <= 0) return bad();
  std::string_view rest(end, text.data() + text.size() - end);
  if (rest.empty())
    return make_error(ErrorKind::invalid, "--rate: '" + t + "' has no unit; write " + t + "/s (per second), " + t +
                                              "/min (per minute) or a window such as " + t + "/5m");
  if (rest.front() != '/') return bad();
  rest.remove_prefix(1);
  double per = 1;
  if (rest == "s" || rest == "sec") per = 1;
  else if (rest == "m" || rest == "min") per = 60;
  else if (rest == "h") per = 3600;
  else if (auto seconds = parse_duration(rest)) per = static_cast<double>(*seconds);
  else return bad();
  return count / per;
}

Status check_token_name(std::string_view name, size_t max_length, std::string_view option) {
  if (name.empty() || name.size() > max_length)
    return make_error(ErrorKind::invalid, std::string(option) + ": a token name has 1 to " + std::to_string(max_length) +
                                              " characters");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-'))
      return make_error(ErrorKind::invalid, std::string(option) + ": '" + std::string(name) +
                                                "' may only contain letters, digits and dashes");
  return ok_status();
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Levenshtein distance with adjacent transpositions counted as one edit ("provsion", "porvision").
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

}  // namespace

std::optional<std::string> nearest_name(std::string_view typed, const std::vector<std::string>& candidates) {
  const std::string t = lower(typed);
  if (t.empty()) return std::nullopt;
  std::optional<std::string> best, prefixed;
  std::size_t best_distance = SIZE_MAX, prefix_matches = 0;
  for (const auto& c : candidates) {
    const std::string l = lower(c);
    if (l.starts_with(t)) {
      ++prefix_matches;
      prefixed = c;
    }
    std::size_t dist = edit_distance(t, l);
    if (dist < best_distance) {
      best_distance = dist;
      best = c;
    }
  }
  const std::size_t allowed = std::max<std::size_t>(1, t.size() / 3);
  if (best && best_distance <= allowed) return best;
  if (prefix_matches == 1 && t.size() >= 2) return prefixed;
  return std::nullopt;
}

bool glob_matches(std::string_view pattern, std::string_view text) {
  return fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), 0) == 0;
}

bool Selection::selects(std::string_view repo) const {
  if (listed && !listed->count(std::string(repo))) return false;
  if (!match.empty() && std::none_of(match.begin(), match.end(), [&](const auto& g) { return glob_matches(g, repo); }))
    return false;
  return std::none_of(exclude.begin(), exclude.end(), [&](const auto& g) { return glob_matches(g, repo); });
}

Result<std::vector<std::string>> read_repository_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::invalid, "--repos-file: cannot read " + path);
  std::vector<std::string> names;
  std::set<std::string> seen;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    size_t b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b, e - b + 1);
    if (line.find_first_of(" \t") != std::string::npos || line.find('/') != std::string::npos)
      return make_error(ErrorKind::invalid, "--repos-file: " + path + " line " + std::to_string(number) +
                                                ": '" + line + "' is not a repository name");
    if (seen.insert(line).second) names.push_back(line);
  }
  return names;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_claims(const std::vector<std::string>& given) {
  std::vector<std::pair<std::string, std::string>> claims;
  for (const auto& text : given) {
    const auto eq = text.find('=');
    const std::string name = eq == std::string::npos ? "" : text.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : text.substr(eq + 1);
    const bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':';
    });
    if (!name_ok || value.empty())
      return make_error(ErrorKind::invalid, "--claim '" + text.substr(0, 100) +
                                                "': expected NAME=VALUE, e.g. --claim repository_id=123456 or --claim "
                                                "'ref=refs/heads/*'");
    for (const auto& [n, v] : claims)
      if (n == name) return make_error(ErrorKind::invalid, "--claim: '" + name + "' is given twice");
    claims.emplace_back(name, value);
  }
  return claims;
}

}  // namespace rt::cli
