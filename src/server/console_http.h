// The web console's HTTP rules, kept in one place: the session cookie (its name, attributes and parsing),
// the same-origin and CSRF checks that every cookie-authenticated request passes before any handler runs,
// the trusted-proxy decision on Secure, and the security headers of every console response. Free of Beast:
// the listener hands over the few header values these rules read.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/api.h"
#include "server/config.h"

namespace rt::server {

// The strict policy of every console response: scripts, styles, images and fetches from this origin only;
// no inline script or style, no plugin, no framing, no form posting elsewhere, no <base> rewriting.
inline constexpr std::string_view kConsoleContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

inline constexpr std::string_view kConsoleSessionCookie = "rt_console";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

// The header values the console rules read (each absent when the request did not carry it).
struct ConsoleHeaders {
  std::optional<std::string_view> cookie;
  std::optional<std::string_view> origin;
  std::optional<std::string_view> sec_fetch_site;
  std::optional<std::string_view> csrf_token;
  std::optional<std::string_view> host;
  std::optional<std::string_view> forwarded_proto;  // X-Forwarded-Proto, believed only from a trusted proxy
  std::optional<std::string_view> content_type;
  bool has_token_header = false;  // api-token or project-token (any spelling): the cookie is then ignored
};

// The value of cookie `name` in a Cookie header, or nullopt.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

// Whether the browser reached us over TLS: --console-secure-cookie always, or a peer listed in
// --trusted-proxies that says X-Forwarded-Proto: https.
bool secure_transport(const ServeConfig& config, std::string_view peer, const ConsoleHeaders& headers);

// True for the paths whose answers are console answers (the pages, their files, the /api/v3/console calls).
bool is_console_path(std::string_view path);

// The checks before any handler runs. Sets `api.credentials.console_session` when the request is
// authenticated by the cookie (no token header), and `api.secure`. Returns the 403 to answer instead
// when the request is cross-site (an Origin other than our own, Sec-Fetch-Site other than same-origin),
// or changes something (not GET or HEAD) without the session's CSRF token; the sign-in call (`signing_in`)
// must also be same-origin JSON, so that no other site can sign a browser in.
std::optional<ApiResponse> check_console_request(const Service& service, const ServeConfig& config,
                                                 std::string_view peer, const ConsoleHeaders& headers,
                                                 bool changes_state, bool signing_in, ApiRequest& api);

// Adds the console's security headers (CSP, nosniff, no-referrer, no framing, no caching of API answers).
void add_console_headers(ApiResponse& response, bool cacheable_file = false);
// The same unless the handler already added them (the files do, as cacheable).
void ensure_console_headers(ApiResponse& response);

// The route name of the sign-in call, whose credential is in its body.
inline constexpr std::string_view kConsoleSignIn = "consoleSignIn";

// Set-Cookie values: a session for `max_age_seconds`, and the deletion on sign-out.
std::string session_cookie(std::string_view session_id, long max_age_seconds, bool secure);
std::string expired_session_cookie(bool secure);

}  // namespace rt::server
