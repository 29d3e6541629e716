// The web console's HTTP rules (see console_http.h). Why each check exists, once:
// - SameSite=Strict keeps browsers from sending the cookie on cross-site requests at all; the Origin and
//   Sec-Fetch-Site checks refuse what a browser without SameSite (or a same-site sibling) might still send;
//   the CSRF token, which only a page of ours can read (from the sign-in answer or GET session), is what a
//   forged form or fetch cannot know. A refusal happens before routing to a handler, so it changes nothing.
// - The cookie is ignored whenever a token header is present: such a request cannot come from a forged
//   form (browsers do not let other sites set custom headers without CORS, which we never grant).
#include "server/console_http.h"

#include <fmt/format.h>

namespace rt::server {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

ApiResponse cross_site(std::string_view why) {
  return error_response(403, "Forbidden", fmt::format("cross-site request refused: {}", why));
}

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) == name) {
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
  }
  return std::nullopt;
}

bool secure_transport(const ServeConfig& config, std::string_view peer, const ConsoleHeaders& h) {
  if (config.console_secure_cookie == "always") return true;
  if (!h.forwarded_proto || !iequals(trim(*h.forwarded_proto), "https")) return false;
  for (const std::string& proxy : config.trusted_proxies)
    if (proxy == peer) return true;
  return false;
}

bool is_console_path(std::string_view path) {
  return path == "/" || path == "/console" || path.starts_with("/console/") || path.starts_with("/api/v3/console/") ||
         path == "/api/v3/console";
}

std::optional<ApiResponse> check_console_request(const Service& service, const ServeConfig& config,
                                                 std::string_view peer, const ConsoleHeaders& h, bool changes_state,
                                                 bool signing_in, ApiRequest& api) {
  api.secure = secure_transport(config, peer, h);
  std::optional<std::string> session;
  if (h.cookie && !h.has_token_header) session = cookie_value(*h.cookie, kConsoleSessionCookie);
  if (session && session->empty()) session.reset();
  if (!session && !signing_in) return std::nullopt;  // not the console's business: token rules apply
  if (h.sec_fetch_site) {
    std::string_view site = trim(*h.sec_fetch_site);
    // "none": the user typed the address or followed a bookmark; only for reading.
    if (!(site == "same-origin" || (site == "none" && !changes_state)))
      return cross_site(fmt::format("Sec-Fetch-Site is {}, the console accepts only same-origin requests",
                                    site.substr(0, 40)));
  }
  if (h.origin) {
    const std::string expected = fmt::format("{}://{}", api.secure ? "https" : "http", h.host.value_or(""));
    if (!h.host || trim(*h.origin) != expected)
      return cross_site(fmt::format("Origin {} is not this console's origin {}", trim(*h.origin).substr(0, 200),
                                    expected.substr(0, 200)));
  }
  if (signing_in) {
    if (!h.content_type || !trim(*h.content_type).starts_with("application/json"))
      return error_response(415, "UnsupportedMediaType",
                            "sign in with Content-Type: application/json and a body {\"token\": \"...\"}");
    return std::nullopt;  // the sign-in admits the posted token; a stale cookie beside it is ignored
  }
  if (changes_state) {
    if (!h.csrf_token) return cross_site("the X-CSRF-Token header is missing (the console sends its session's token)");
    if (!service.check_console_csrf(*session, trim(*h.csrf_token)))
      return cross_site("the X-CSRF-Token header does not match this session; reload the console");
  }
  api.credentials.console_session = std::move(session);
  return std::nullopt;
}

void add_console_headers(ApiResponse& r, bool cacheable_file) {
  r.headers.emplace_back("Content-Security-Policy", std::string(kConsoleContentSecurityPolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  // The files may be revalidated; API answers (which may hold a secret, once) are never stored.
  r.headers.emplace_back("Cache-Control", cacheable_file ? "no-cache" : "no-store");
}

void ensure_console_headers(ApiResponse& r) {
  for (const auto& [name, value] : r.headers)
    if (name == "Content-Security-Policy") return;
  add_console_headers(r);
}

std::string session_cookie(std::string_view session_id, long max_age_seconds, bool secure) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kConsoleSessionCookie, session_id,
                     max_age_seconds, secure ? "; Secure" : "");
}

std::string expired_session_cookie(bool secure) {
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}", kConsoleSessionCookie,
                     secure ? "; Secure" : "");
}

}  // namespace rt::server
