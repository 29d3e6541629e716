// Handlers of the web console: its files (compiled into the binary), the redirect from /, signing in and
// out, and the console's read-only extensions that spare a page one call per row (repository overviews,
// expiring tokens, the filtered audit log). The cookie and CSRF rules ran before any of these
// (server/console_http.h); the rules of what a user may see are the service's, as for any client.
#include <nlohmann/json.hpp>

#include "server/console_assets.h"
#include "server/console_http.h"
#include "server/handlers.h"
#include "server/json_page.h"

namespace rt::server {
namespace {

ApiResponse redirect(std::string location) {
  ApiResponse r;
  r.status = 302;
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

ApiResponse serve_asset(std::string_view name) {
  for (const ConsoleAsset& a : console_assets()) {
    if (a.name != name) continue;
    ApiResponse r;
    r.body = std::string(a.body);
    r.content_type = a.content_type;
    r.headers.emplace_back("ETag", std::string(a.etag));
    add_console_headers(r, true);
    return r;
  }
  ApiResponse r = error_response(make_error(ErrorKind::not_found, "no such console file"));
  add_console_headers(r);
  return r;
}

json session_json(const User& user, std::string csrf, UnixTime expires_at) {
  json j = {{"user", user_json(user)}, {"csrfToken", std::move(csrf)}};
  if (expires_at > 0) j["expiresAt"] = format_rfc3339(expires_at);
  return j;
}

json overview_json(const RepositoryOverview& o) {
  json j = {{"repository", repository_json(o.view.repository, o.view.permission)}, {"liveTokens", o.live_tokens}};
  if (o.soonest_expiry) j["soonestExpiry"] = format_rfc3339(*o.soonest_expiry);
  if (o.last_upload) {
    const CoverageUpload& u = *o.last_upload;
    json up = {{"commit", u.commit}, {"language", u.language}, {"status", coverage_status_name(u.status)},
               {"uploadedAt", format_rfc3339(u.at)}};
    if (u.coverable > 0) up["coveragePercentage"] = 100.0 * static_cast<double>(u.covered) / static_cast<double>(u.coverable);
    j["lastUpload"] = std::move(up);
  }
  return j;
}

json expiring_json(const ExpiringTokenView& e) {
  return {{"token", repository_token_json(e.token)},
          {"repository", repository_json(e.repository)},
          {"warningDays", e.warning_days}};
}

}  // namespace

ApiResponse redirect_to_console(const ApiRequest&) { return redirect("/console/"); }

ApiResponse console_index(const ApiRequest&) { return serve_asset("index.html"); }

ApiResponse console_file(const ApiRequest& req) { return serve_asset(req.params.at(0)); }

ApiResponse console_sign_in(Service& service, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto token = required_string_field(*body, "token");
  if (!token) return failure(token);
  Credentials credentials{.api_token = *token, .client_address = req.credentials.client_address};
  auto opened = service.open_console_session(credentials);
  if (!opened) return failure(opened);
  ApiResponse r = data_response(201, session_json(opened->user, opened->csrf_token, opened->expires_at));
  const long max_age = static_cast<long>(opened->expires_at - opened->opened_at);
  r.headers.emplace_back("Set-Cookie", session_cookie(opened->session_id, max_age, req.secure));
  return r;
}

ApiResponse console_sign_out(Service& service, const ApiRequest& req) {
  if (req.credentials.console_session) {
    auto closed = service.close_console_session(*req.credentials.console_session);
    if (!closed) return failure(closed);
  }
  ApiResponse r = no_content();
  r.headers.emplace_back("Set-Cookie", expired_session_cookie(req.secure));
  return r;
}

ApiResponse console_session(Service& service, const Principal& p, const ApiRequest& req) {
  auto user = service.get_user(p);
  if (!user) return failure(user);
  // With a token header there is no session, hence no CSRF token: such callers need none.
  std::string csrf = req.credentials.console_session ? service.console_csrf_token(*req.credentials.console_session) : "";
  return data_response(200, session_json(*user, std::move(csrf), p.console_session_ends));
}

ApiResponse console_repositories(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  RepositoryListRequest list;
  list.search = query_param(req.query, "search").value_or("");
  list.filter = query_param(req.query, "filter").value_or("");
  auto rows = service.list_repository_overviews(p, org_ref(req), list, *page);
  if (!rows) return failure(rows);
  return render_page(*rows, overview_json);
}

ApiResponse console_expiring(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  auto rows = service.list_expiring_tokens(p, *page);
  if (!rows) return failure(rows);
  return render_page(*rows, expiring_json);
}

ApiResponse console_audit(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  AuditFilter filter{.from = query_param(req.query, "from"),
                     .to = query_param(req.query, "to"),
                     .action = query_param(req.query, "action").value_or(""),
                     .actor = query_param(req.query, "actor").value_or(""),
                     .repository = query_param(req.query, "repository").value_or("")};
  auto events = service.list_audit(p, org_ref(req), filter, *page);
  if (!events) return failure(events);
  return render_page(*events, audit_json);
}

}  // namespace rt::server
