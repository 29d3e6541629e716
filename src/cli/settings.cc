// Resolution of the global options: environment variables, the TOML config file's named profiles (checked
// key by key), the API token file, and validation, plus the one-line descriptions of API failures.
#include "cli/settings.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "cli/inputs.h"
#include "core/model.h"

namespace rt::cli {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string default_config_path() {
  std::string base = env("XDG_CONFIG_HOME");
  if (base.empty()) {
    std::string home = env("HOME");
    if (home.empty()) return {};
    base = home + "/.config";
  }
  return base + "/repotokens/config.toml";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t start = s.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : s.substr(start);
}

const std::vector<std::string> kTopLevelKeys{"default_profile", "profiles"};
const std::vector<std::string> kProfileStringKeys{"api_url",  "api_token", "api_token_file", "ca_file",
                                                  "provider", "org",       "connect_timeout", "timeout"};
const std::vector<std::string> kProfileIntegerKeys{"retries"};

bool listed(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

Error config_error(const std::string& path, const toml::node& at, const std::string& what) {
  return make_error(ErrorKind::invalid, "--config: " + path + " line " + std::to_string(at.source().begin.line) + ": " + what);
}

std::string unknown_key(const std::string& key, const std::vector<std::string>& valid, const std::string& where) {
  std::string text = "unknown key '" + key + "'" + where;
  if (auto near = nearest_name(key, valid)) return text + "; did you mean '" + *near + "'?";
  std::string list;
  for (const auto& k : valid) list += (list.empty() ? "" : ", ") + k;
  return text + " (valid keys: " + list + ")";
}

// Every key of the file is one repotokens knows, with a value of the right type: a typo is an error, not a
// setting silently ignored (the server's config file is checked the same way).
Status check_config(const toml::table& file, const std::string& path) {
  for (const auto& [key, node] : file) {
    const std::string k(key.str());
    if (k == "default_profile" && !node.is_string()) return config_error(path, node, "default_profile must be a string");
    if (k == "profiles" && !node.is_table())
      return config_error(path, node, "profiles must be a table of profiles ([profiles.NAME])");
    if (k != "default_profile" && k != "profiles") {
      if (listed(kProfileStringKeys, k) || listed(kProfileIntegerKeys, k))
        return config_error(path, node, "'" + k + "' belongs in a profile ([profiles.NAME]), not at the top level");
      return config_error(path, node, unknown_key(k, kTopLevelKeys, " at the top level"));
    }
  }
  const toml::table* profiles = file["profiles"].as_table();
  if (!profiles) return ok_status();
  std::vector<std::string> valid = kProfileStringKeys;
  valid.insert(valid.end(), kProfileIntegerKeys.begin(), kProfileIntegerKeys.end());
  for (const auto& [name, node] : *profiles) {
    const std::string section = "[profiles." + std::string(name.str()) + "]";
    const toml::table* profile = node.as_table();
    if (!profile) return config_error(path, node, "profiles." + std::string(name.str()) + " must be a table (" + section + ")");
    for (const auto& [key, value] : *profile) {
      const std::string k(key.str());
      const bool is_string = listed(kProfileStringKeys, k), is_integer = listed(kProfileIntegerKeys, k);
      if (!is_string && !is_integer) return config_error(path, value, unknown_key(k, valid, " in " + section));
      if (is_string && !value.is_string()) return config_error(path, value, k + " must be a string (in quotes)");
      if (is_integer && !value.is_integer()) return config_error(path, value, k + " must be a whole number");
    }
  }
  return ok_status();
}

struct Profile {
  toml::table values;
  std::string path;  // of the file it came from ("" without one)
};

// The chosen profile's table from the config file; an empty table when there is no file.
Result<Profile> load_profile(const GlobalOptions& o) {
  std::string path = !o.config_file.empty() ? o.config_file : env("REPOTOKENS_CONFIG");
  bool explicit_path = !path.empty();
  if (!explicit_path) path = default_config_path();
  if (path.empty() || (!explicit_path && !std::filesystem::exists(path))) return Profile{};
  toml::table file;
  try {
    file = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin.line;
    return make_error(ErrorKind::invalid, "--config: cannot read " + path + " (line " + where.str() +
                                              "): " + std::string(e.description()));
  }
  RT_TRY_STATUS(check_config(file, path));
  std::string profile = !o.profile.empty() ? o.profile : env("REPOTOKENS_PROFILE");
  if (profile.empty()) profile = file["default_profile"].value_or(std::string("default"));
  auto* profiles = file["profiles"].as_table();
  if (profiles && profiles->contains(profile) && (*profiles)[profile].as_table())
    return Profile{*(*profiles)[profile].as_table(), path};
  if (!o.profile.empty() || !env("REPOTOKENS_PROFILE").empty()) {
    std::vector<std::string> names;
    if (profiles)
      for (const auto& [name, node] : *profiles) names.emplace_back(name.str());
    std::string hint;
    if (auto near = nearest_name(profile, names)) hint = "; did you mean '" + *near + "'?";
    return make_error(ErrorKind::invalid, "--profile: no profile '" + profile + "' in " + path + hint);
  }
  return Profile{toml::table{}, path};
}

// A timeout from the flag, else the profile, else the default.
Result<long> pick_timeout(const std::string& flag, const char* option, const toml::table& profile, const char* key,
                          long fallback) {
  if (!flag.empty()) return parse_timeout(flag, option);
  if (auto v = profile[key].value<std::string>()) return parse_timeout(*v, key);
  return fallback;
}

// flag > env > profile > fallback
std::string pick(const std::string& flag, const char* env_name, const toml::table& profile, const char* key,
                 const std::string& fallback = {}) {
  if (!flag.empty()) return flag;
  if (env_name) {
    std::string e = env(env_name);
    if (!e.empty()) return e;
  }
  if (auto v = profile[key].value<std::string>()) return *v;
  return fallback;
}

}  // namespace

std::string normalize_api_url(std::string url) {
  auto drop_slashes = [&] {
    while (!url.empty() && url.back() == '/') url.pop_back();
  };
  drop_slashes();
  constexpr std::string_view kSuffix = "/api/v3";
  if (url.size() > kSuffix.size() && url.ends_with(kSuffix)) url.resize(url.size() - kSuffix.size());
  drop_slashes();
  return url;
}

Result<Target> resolve_target(const GlobalOptions& o, bool need_org) {
  RT_TRY(Profile loaded, load_profile(o));
  const toml::table& profile = loaded.values;
  Target t;
  auto& c = t.connection;
  const std::string given = pick(o.api_url, "CODACY_API_BASE_URL", profile, "api_url", "https://app.codacy.com");
  c.api_url = normalize_api_url(given);
  const std::size_t scheme_end = c.api_url.starts_with("http://") ? 7 : c.api_url.starts_with("https://") ? 8 : 0;
  if (scheme_end == 0 || c.api_url.size() == scheme_end || c.api_url[scheme_end] == '/' ||
      c.api_url.find_first_of(" \t?#") != std::string::npos)
    return make_error(ErrorKind::invalid, "--api-url: '" + given +
                                              "' is not an http:// or https:// URL (e.g. https://app.codacy.com or "
                                              "http://127.0.0.1:8080/api/v3)");
  c.ca_file = pick(o.ca_file, nullptr, profile, "ca_file");
  if (!c.ca_file.empty() && !std::filesystem::exists(c.ca_file))
    return make_error(ErrorKind::invalid, "--ca-file: " + c.ca_file + " does not exist");
  // --api-token > --api-token-file > CODACY_API_TOKEN > profile api_token > profile api_token_file
  std::string token_file;
  if (!o.api_token.empty()) c.api_token = o.api_token;
  else if (!o.api_token_file.empty()) token_file = o.api_token_file;
  else c.api_token = pick({}, "CODACY_API_TOKEN", profile, "api_token");
  if (c.api_token.empty() && token_file.empty()) token_file = pick({}, nullptr, profile, "api_token_file");
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return make_error(ErrorKind::invalid, "--api-token-file: cannot read " + token_file);
    std::stringstream text;
    text << in.rdbuf();
    c.api_token = trim(text.str());
    if (c.api_token.empty()) return make_error(ErrorKind::invalid, "--api-token-file: " + token_file + " is empty");
  }
  for (char ch : c.api_token)
    if (static_cast<unsigned char>(ch) < 0x21 || ch == 0x7f)
      return make_error(ErrorKind::invalid, "--api-token: the token contains spaces or control characters");
  RT_TRY(c.connect_timeout_ms, pick_timeout(o.connect_timeout, "--connect-timeout", profile, "connect_timeout",
                                            kDefaultConnectTimeoutMs));
  RT_TRY(c.request_timeout_ms, pick_timeout(o.timeout, "--timeout", profile, "timeout", kDefaultRequestTimeoutMs));
  c.connect_timeout_ms = std::min(c.connect_timeout_ms, c.request_timeout_ms);  // libcurl's total includes the connect
  std::int64_t retries = o.retries ? o.retries : profile["retries"].value_or(std::int64_t{10});
  if (retries < 1 || retries > 100) return make_error(ErrorKind::invalid, "--retries: must be 1..100");
  c.max_attempts = static_cast<int>(retries);
  t.provider = pick(o.provider, "REPOTOKENS_PROVIDER", profile, "provider");
  t.org = pick(o.org, "REPOTOKENS_ORG", profile, "org");
  if (!t.provider.empty() && !parse_provider(t.provider))
    return make_error(ErrorKind::invalid, "--provider: '" + t.provider + "' is not one of " + std::string(kValidProviders));
  if (need_org && t.provider.empty()) return make_error(ErrorKind::invalid, "--provider is required (e.g. --provider gh)");
  if (need_org && t.org.empty()) return make_error(ErrorKind::invalid, "--org is required");
  return t;
}

std::string describe_error(const Error& e, const Target& t) {
  switch (e.kind) {
    case ErrorKind::unauthorized:
      return "the API token was refused by " + t.connection.api_url + " (" + e.message +
             "); check --api-token / CODACY_API_TOKEN";
    case ErrorKind::expired:
      return "the API token has expired (" + e.message + "); create a new account token";
    case ErrorKind::forbidden:
      return "not allowed: " + e.message;
    case ErrorKind::not_found:
      // A 404 without the API's error body, or for a path the server does not serve, means the URL is not
      // the API's base; only an API's own "not found" is about the organization or repository.
      if (e.message.starts_with("HTTP 404") || e.message.find("no such endpoint") != std::string::npos)
        return "there is no Codacy API at " + t.connection.api_url + "/api/v3 (" + e.message +
               "); check --api-url / CODACY_API_BASE_URL: the server's base URL, e.g. https://app.codacy.com";
      if (t.provider.empty()) return e.message;
      return e.message + " (is " + t.provider + "/" + t.org + " right, and visible to this token?)";
    case ErrorKind::unavailable:
      if (e.message.starts_with("cannot reach "))  // no response at all (the client's own message)
        return e.message + "; is the server up, and is --api-url / CODACY_API_BASE_URL right?";
      return e.message;
    default:
      return e.message;
  }
}

int exit_status_for(const Error& e) {
  return e.kind == ErrorKind::unauthorized || e.kind == ErrorKind::expired ? kExitAuth : kExitFailure;
}

}  // namespace rt::cli
