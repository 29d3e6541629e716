// Input parsing for the CLI: expiry, durations, rates, names, globs and repository files.
#include "cli/inputs.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
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

Result<double> parse_rate(std::string_view text) {
  auto bad = [&] {
    return make_error(ErrorKind::invalid, "--rate: '" + std::string(text) + "' is not a rate (e.g. 50/s, 3000/m, 2500/5m)");
  };
  double count = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (ec != std::errc() || !std::isfinite(count) || count <= 0) return bad();
  std::string_view rest(end, text.data() + text.size() - end);
  double per = 1;
  if (!rest.empty()) {
    if (rest.front() != '/') return bad();
    rest.remove_prefix(1);
    if (rest == "s" || rest == "sec") per = 1;
    else if (rest == "m" || rest == "min") per = 60;
    else if (rest == "h") per = 3600;
    else if (auto seconds = parse_duration(rest)) per = static_cast<double>(*seconds);
    else return bad();
  }
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

}  // namespace rt::cli
