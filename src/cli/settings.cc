// Resolution of the global options: environment variables, the TOML config file's named profiles, the API
// token file, and validation, plus the one-line descriptions of API failures.
#include "cli/settings.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

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

// The chosen profile's table from the config file; an empty table when there is no file.
Result<toml::table> load_profile(const GlobalOptions& o) {
  std::string path = !o.config_file.empty() ? o.config_file : env("REPOTOKENS_CONFIG");
  bool explicit_path = !path.empty();
  if (!explicit_path) path = default_config_path();
  if (path.empty() || (!explicit_path && !std::filesystem::exists(path))) return toml::table{};
  toml::table file;
  try {
    file = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin.line;
    return make_error(ErrorKind::invalid, "--config: cannot read " + path + " (line " + where.str() +
                                              "): " + std::string(e.description()));
  }
  std::string profile = !o.profile.empty() ? o.profile : env("REPOTOKENS_PROFILE");
  if (profile.empty()) profile = file["default_profile"].value_or(std::string("default"));
  auto* profiles = file["profiles"].as_table();
  if (profiles && profiles->contains(profile) && (*profiles)[profile].as_table()) return *(*profiles)[profile].as_table();
  if (!o.profile.empty() || !env("REPOTOKENS_PROFILE").empty())
    return make_error(ErrorKind::invalid, "--profile: no profile '" + profile + "' in " + path);
  return toml::table{};
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

Result<Target> resolve_target(const GlobalOptions& o, bool need_org) {
  RT_TRY(toml::table profile, load_profile(o));
  Target t;
  auto& c = t.connection;
  c.api_url = pick(o.api_url, "CODACY_API_BASE_URL", profile, "api_url", "https://app.codacy.com");
  while (!c.api_url.empty() && c.api_url.back() == '/') c.api_url.pop_back();
  if (!c.api_url.starts_with("http://") && !c.api_url.starts_with("https://"))
    return make_error(ErrorKind::invalid, "--api-url: '" + c.api_url + "' is not an http:// or https:// URL");
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
  if (o.timeout_seconds <= 0) return make_error(ErrorKind::invalid, "--timeout: must be positive");
  c.request_timeout_ms = static_cast<long>(o.timeout_seconds * 1000);
  c.connect_timeout_ms = std::min<long>(c.request_timeout_ms, 10'000);
  if (o.retries < 1 || o.retries > 100) return make_error(ErrorKind::invalid, "--retries: must be 1..100");
  c.max_attempts = o.retries;
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
      return e.message + " (is " + t.provider + "/" + t.org + " right, and visible to this token?)";
    default:
      return e.message;
  }
}



}  // namespace rt::cli
