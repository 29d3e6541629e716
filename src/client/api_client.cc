// Typed API calls: request building, the retry loop around the pacer, error mapping and JSON shapes
// (tolerant of Codacy's extra fields and of secrets in list responses, which are never read).
#include "client/api_client.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

namespace rt::client {
namespace {

using json = nlohmann::json;

void sleep_seconds(double s) {
  if (s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

// The kind of a refusal: the v3 body's `error` (Codacy's and ours: "NotFound", "Conflict", ...) when it
// names one, else the status. Never read from the human message.
ErrorKind kind_for_response(const HttpResponse& r) {
  json body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    static const std::pair<const char*, ErrorKind> kinds[] = {
        {"BadRequest", ErrorKind::invalid},       {"Unauthorized", ErrorKind::unauthorized},
        {"Forbidden", ErrorKind::forbidden},      {"NotFound", ErrorKind::not_found},
        {"Conflict", ErrorKind::conflict},        {"UnprocessableEntity", ErrorKind::unprocessable},
        {"PayloadTooLarge", ErrorKind::too_large}, {"TooManyRequests", ErrorKind::throttled},
        {"ServiceUnavailable", ErrorKind::unavailable}, {"InternalServerError", ErrorKind::internal}};
    const std::string name = body["error"].get<std::string>();
    for (const auto& [n, kind] : kinds)
      if (name == n) return kind;
  }
  switch (r.status) {
    case 400: return ErrorKind::invalid;
    case 401: return ErrorKind::unauthorized;
    case 403: return ErrorKind::forbidden;
    case 404: return ErrorKind::not_found;
    case 409: return ErrorKind::conflict;
    case 413: return ErrorKind::too_large;
    case 422: return ErrorKind::unprocessable;
    case 429: return ErrorKind::throttled;
    case 503: case 504: return ErrorKind::unavailable;
    default: return ErrorKind::internal;
  }
}

// The server's human message: v3 `message`, legacy `error` text, else the status alone. One line, bounded.
std::string error_message(const HttpResponse& r) {
  std::string message;
  json body = json::parse(r.body, nullptr, false);
  if (body.is_object()) {
    if (body.contains("message") && body["message"].is_string()) message = body["message"].get<std::string>();
    else if (body.contains("error") && body["error"].is_string()) message = body["error"].get<std::string>();
  }
  if (message.empty()) message = "HTTP " + std::to_string(r.status);
  for (auto& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  if (message.size() > 300) message.resize(300);
  return message;
}

std::optional<UnixTime> time_field(const json& o, const char* key) {
  if (!o.contains(key) || !o[key].is_string()) return std::nullopt;
  return parse_rfc3339(o[key].get<std::string>());
}

std::string string_field(const json& o, const char* key) {
  return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
}

Id id_field(const json& o, const char* key) {
  if (!o.contains(key)) return 0;
  if (o[key].is_number_integer()) return o[key].get<Id>();
  if (o[key].is_string()) {
    try { return std::stoll(o[key].get<std::string>()); } catch (...) {}
  }
  return 0;
}

Result<json> parse_json(const std::string& text) {
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return make_error(ErrorKind::internal, "the server sent a response that is not JSON");
  return body;
}

Result<json> parse_body(const HttpResponse& r) { return parse_json(r.body); }

// `{"data": X}` -> X; a bare object (createUserApiToken's shape) stays as it is.
const json& unwrap(const json& body) { return body.is_object() && body.contains("data") ? body["data"] : body; }

RepositorySummary to_repository(const json& item) {
  const json& r = item.contains("repository") && item["repository"].is_object() ? item["repository"] : item;
  RepositorySummary s;
  s.name = string_field(r, "name");
  s.full_path = string_field(r, "fullPath");
  s.visibility = string_field(r, "visibility");
  s.permission = string_field(r, "permission");
  s.remote_identifier = string_field(r, "remoteIdentifier");
  if (s.remote_identifier.empty() && r.contains("remoteIdentifier") && r["remoteIdentifier"].is_number_integer())
    s.remote_identifier = std::to_string(r["remoteIdentifier"].get<std::int64_t>());
  return s;
}

CreatedToken to_created(const json& d) {
  return CreatedToken{id_field(d, "id"), string_field(d, "token"), string_field(d, "name"), time_field(d, "expiresAt")};
}

std::string query_escape(const std::string& s) { return encode_path_segment(s); }

// repotokensd: {"commit", "language", "status", "reason"?, "files", "coverage", "uploadedAt"}.
// Codacy: {"targetCommitSha", "commit": {"sha"}, "language"?, "status", "createdAt"}.
CoverageUploadInfo to_coverage_upload(const json& u) {
  CoverageUploadInfo info;
  info.commit = string_field(u, "commit");
  if (info.commit.empty()) info.commit = string_field(u, "targetCommitSha");
  if (info.commit.empty() && u.contains("commit") && u["commit"].is_object())
    info.commit = string_field(u["commit"], "sha");
  info.language = string_field(u, "language");
  info.status = string_field(u, "status");
  info.reason = string_field(u, "reason");
  if (u.contains("files") && u["files"].is_number_integer()) info.files = u["files"].get<std::int64_t>();
  if (u.contains("coverage") && u["coverage"].is_number()) info.coverage = u["coverage"].get<double>();
  info.at = time_field(u, "uploadedAt");
  if (!info.at) info.at = time_field(u, "createdAt");
  return info;
}

CiTrustRuleInfo to_trust_rule(const json& d) {
  CiTrustRuleInfo rule;
  rule.id = id_field(d, "id");
  rule.issuer = string_field(d, "issuer");
  rule.audience = string_field(d, "audience");
  if (d.contains("claims") && d["claims"].is_object())
    for (auto it = d["claims"].begin(); it != d["claims"].end(); ++it)
      rule.claims.emplace_back(it.key(), it->is_string() ? it->get<std::string>() : it->dump());
  rule.lifetime_minutes = d.value("lifetimeMinutes", 0);
  rule.binds_only_names = d.value("bindsOnlyNames", false);
  rule.created_at = time_field(d, "createdAt");
  rule.created_by = string_field(d, "createdBy");
  return rule;
}

}  // namespace

ApiClient::ApiClient(const ConnectionSettings& settings, Pacer& pacer, ClientStats& stats)
    : ApiClient(settings, pacer, stats, std::make_unique<HttpTransport>(settings)) {}

ApiClient::ApiClient(const ConnectionSettings& settings, Pacer& pacer, ClientStats& stats,
                     std::unique_ptr<Transport> transport)
    : settings_(settings),
      pacer_(pacer),
      stats_(stats),
      transport_(std::move(transport)),
      retry_(std::max(1, settings.max_attempts)),
      random_(std::random_device{}()) {}

Result<HttpResponse> ApiClient::call(const std::string& method, const std::string& path, const std::string& json_body,
                                     bool repeatable) {
  std::vector<std::string> headers{"Accept: application/json"};
  if (!settings_.api_token.empty()) headers.push_back("api-token: " + settings_.api_token);
  if (!json_body.empty()) headers.push_back("Content-Type: application/json");
  const std::string url = settings_.api_url + "/api/v3" + path;
  uncertain_ = false;
  // Refusals of a silent server are paced by the pacer's window fit, not by backoff; they get a budget
  // of their own (a probe may be refused a few times while the window is being found).
  int refusals = 0;
  const int max_refusals = std::max(30, retry_.max_attempts() * 3);
  // Each retry is recorded (by cause, for the progress line and the summary) before its wait.
  auto retry = [&](RetryCause cause, long status, int number, int max, double wait, std::string detail) {
    stats_.retry_log.record({cause, status, number, max, wait, std::move(detail)});
    sleep_seconds(wait);
  };
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) stats_.retries++;
    double sent = steady_seconds();
    for (;;) {
      auto again = pacer_.acquire(sent);
      if (!again) break;
      sleep_seconds(std::clamp(*again - sent, 0.001, 0.25));
      sent = steady_seconds();
    }
    auto response = transport_->perform(method, url, headers, json_body);
    if (!response.ok()) {
      stats_.transport_errors++;
      pacer_.on_lost(sent);
      const TransportFailure failure = transport_->last_failure();
      const bool maybe_sent = failure == TransportFailure::timeout || failure == TransportFailure::other;
      if (maybe_sent) uncertain_ = true;
      const bool reached = stats_.requests.load() > 0;
      if ((maybe_sent && !repeatable) || !retry_.may_retry(attempt) ||
          !retry_.retry_without_response(failure == TransportFailure::tls, reached))
        return make_error(ErrorKind::unavailable, "cannot reach " + settings_.api_url + ": " + response.error().message);
      retry(RetryCause::unreachable, 0, attempt, retry_.max_attempts() - 1, retry_.delay(attempt, std::nullopt, random_),
            response.error().message);
      continue;
    }
    stats_.requests++;
    const HttpResponse& r = response.value();
    const double now = steady_seconds();
    const std::string policy = r.header("ratelimit-policy"), limit = r.header("ratelimit");
    pacer_.observe(now, policy, limit);
    const bool described = !policy.empty() || !limit.empty();
    // A 504 from a gateway may come after the server carried the request out.
    if (r.status == 504 && !repeatable) {
      stats_.refused++;
      uncertain_ = true;
      pacer_.on_throttled(now, 0, described, sent);
      return make_error(ErrorKind::unavailable, "HTTP 504 from " + settings_.api_url + " (the reply was lost)");
    }
    if (is_throttle_status(r.status)) {
      stats_.refused++;
      auto retry_after = parse_retry_after(r.header("retry-after"), SystemClock().now());
      const bool silent = !retry_after && !described;
      double wait = silent ? 0 : retry_.delay(attempt, retry_after, random_);
      pacer_.on_throttled(now, wait, described, sent);
      if (silent ? ++refusals >= max_refusals : !retry_.may_retry(attempt))
        return make_error(kind_for_response(r), "the server is still refusing after " + std::to_string(attempt) +
                                                    " attempts (HTTP " + std::to_string(r.status) + ")");
      retry(r.status == 429 ? RetryCause::throttled : RetryCause::server_busy, r.status, silent ? refusals : attempt,
            silent ? max_refusals - 1 : retry_.max_attempts() - 1, wait, "HTTP " + std::to_string(r.status));
      continue;
    }
    if (r.status == 502) {  // a proxy in front of a restarting server; the request may have been carried out
      uncertain_ = true;
      pacer_.on_lost(sent);
      if (!repeatable || !retry_.may_retry(attempt))
        return make_error(ErrorKind::unavailable, "HTTP 502 from " + settings_.api_url + " (the reply was lost)");
      retry(RetryCause::server_busy, 502, attempt, retry_.max_attempts() - 1, retry_.delay(attempt, std::nullopt, random_),
            "HTTP 502");
      continue;
    }
    pacer_.on_success(sent);
    if (r.status >= 400) return make_error(kind_for_response(r), error_message(r));
    uncertain_ = false;
    return std::move(response).value();
  }
}

std::string ApiClient::repo_path(const std::string& provider, const std::string& org, const std::string& repo) const {
  return "/organizations/" + encode_path_segment(provider) + "/" + encode_path_segment(org) + "/repositories/" +
         encode_path_segment(repo);
}

Result<UserInfo> ApiClient::get_user() {
  RT_TRY(auto r, call("GET", "/user"));
  RT_TRY(auto body, parse_body(r));
  const json& d = unwrap(body);
  return UserInfo{id_field(d, "id"), string_field(d, "name"), d.value("isAdmin", false)};
}

Result<OrganizationInfo> ApiClient::get_organization(const std::string& provider, const std::string& org) {
  RT_TRY(auto r, call("GET", "/organizations/" + encode_path_segment(provider) + "/" + encode_path_segment(org)));
  RT_TRY(auto body, parse_body(r));
  const json& d = unwrap(body);
  OrganizationInfo info{provider, org, ""};
  if (d.contains("organization") && d["organization"].is_object()) info.name = string_field(d["organization"], "name");
  if (info.name.empty()) info.name = org;
  if (d.contains("membership") && d["membership"].is_object()) info.role = string_field(d["membership"], "userRole");
  return info;
}

Result<ApiClient::RepositoryPage> ApiClient::list_repositories_page(const std::string& provider, const std::string& org,
                                                                    const std::optional<std::string>& cursor,
                                                                    const std::string& search, int limit) {
  std::string path = "/organizations/" + encode_path_segment(provider) + "/" + encode_path_segment(org) +
                     "/repositories?limit=" + std::to_string(limit);
  if (cursor) path += "&cursor=" + query_escape(*cursor);
  if (!search.empty()) path += "&search=" + query_escape(search);
  RT_TRY(auto r, call("GET", path));
  RT_TRY(auto body, parse_body(r));
  RepositoryPage page;
  if (body.contains("data") && body["data"].is_array())
    for (const auto& item : body["data"]) page.items.push_back(to_repository(item));
  if (body.contains("pagination") && body["pagination"].is_object()) {
    std::string next = string_field(body["pagination"], "cursor");
    if (!next.empty()) page.cursor = next;
  }
  return page;
}

Status ApiClient::for_each_repository(const std::string& provider, const std::string& org, const std::string& search,
                                      const std::function<void(const RepositorySummary&)>& visit) {
  std::optional<std::string> cursor;
  for (int pages = 0; pages < 1'000'000; ++pages) {
    RT_TRY(auto page, list_repositories_page(provider, org, cursor, search));
    for (const auto& repo : page.items) visit(repo);
    if (!page.cursor || page.items.empty() || page.cursor == cursor) return ok_status();
    cursor = page.cursor;
  }
  return make_error(ErrorKind::internal, "the repository listing did not end");
}

Result<std::vector<RepositoryTokenInfo>> ApiClient::list_repository_tokens(const std::string& provider,
                                                                           const std::string& org,
                                                                           const std::string& repo,
                                                                           bool keep_listed_secrets) {
  std::vector<RepositoryTokenInfo> tokens;
  std::optional<std::string> cursor;
  for (int pages = 0; pages < 10'000; ++pages) {
    std::string path = repo_path(provider, org, repo) + "/tokens?limit=100";
    if (cursor) path += "&cursor=" + query_escape(*cursor);
    RT_TRY(auto r, call("GET", path));
    RT_TRY(auto body, parse_body(r));
    if (body.contains("data") && body["data"].is_array()) {
      for (const auto& t : body["data"]) {
        RepositoryTokenInfo info{id_field(t, "id"), string_field(t, "name"), "", time_field(t, "createdAt"),
                                 time_field(t, "expiresAt"), time_field(t, "lastUsedAt")};
        if (keep_listed_secrets) info.listed_secret = string_field(t, "token");
        tokens.push_back(std::move(info));
      }
    }
    std::string next;
    if (body.contains("pagination") && body["pagination"].is_object()) next = string_field(body["pagination"], "cursor");
    if (next.empty() || next == cursor) break;
    cursor = next;
  }
  return tokens;
}

Result<CreatedToken> ApiClient::create_repository_token(const std::string& provider, const std::string& org,
                                                        const std::string& repo, const std::optional<std::string>& name,
                                                        std::optional<UnixTime> expires_at) {
  json body = json::object();
  if (name) body["name"] = *name;
  if (expires_at) body["expiresAt"] = format_rfc3339(*expires_at);
  RT_TRY(auto r, call("POST", repo_path(provider, org, repo) + "/tokens", body.dump(), false));
  RT_TRY(auto parsed, parse_body(r));
  CreatedToken t = to_created(unwrap(parsed));
  if (t.secret.empty()) return make_error(ErrorKind::internal, "the server's reply to a token creation held no token");
  if (t.name.empty() && name) t.name = *name;
  return t;
}

Status ApiClient::delete_repository_token(const std::string& provider, const std::string& org, const std::string& repo,
                                          Id id) {
  auto r = call("DELETE", repo_path(provider, org, repo) + "/tokens/" + std::to_string(id));
  if (!r.ok() && r.error().kind == ErrorKind::not_found && uncertain_)
    return ok_status();  // an earlier attempt of this delete went through; only its reply was lost
  if (!r.ok()) return r.error();
  return ok_status();
}

Result<std::vector<CoverageUploadInfo>> ApiClient::list_coverage_reports(const std::string& provider,
                                                                         const std::string& org,
                                                                         const std::string& repo, int limit) {
  // repotokensd's upload log (files, percentages, refused uploads with their reason) first; a server without
  // it (Codacy: 404) answers Codacy's listCoverageReports, which says less.
  auto log = call("GET", repo_path(provider, org, repo) + "/coverage/uploads?limit=" + std::to_string(limit));
  if (log.ok()) return parse_coverage_reports(log->body, limit);
  const ErrorKind kind = log.error().kind;  // 404 (Codacy), 501 (a server that names it unserved): fall back
  if (kind != ErrorKind::not_found && kind != ErrorKind::unprocessable && kind != ErrorKind::internal) return log.error();
  RT_TRY(auto r, call("GET", repo_path(provider, org, repo) + "/coverage/status?limit=" + std::to_string(limit)));
  return parse_coverage_reports(r.body, limit);
}

Result<std::vector<CoverageUploadInfo>> parse_coverage_reports(const std::string& text, int limit) {
  RT_TRY(json body, parse_json(text));
  const json& d = unwrap(body);
  std::vector<CoverageUploadInfo> out;
  // Codacy leaves lastReports out of a repository that never received coverage.
  if (d.is_object() && d.contains("hasCoverageOverview") && !d.contains("lastReports")) return out;
  const json* list = d.is_array() ? &d : d.is_object() && d.contains("lastReports") ? &d["lastReports"] : nullptr;
  if (!list || !list->is_array())
    return make_error(ErrorKind::internal, "the server's coverage status held no list of reports");
  for (const auto& item : *list)
    if (item.is_object()) out.push_back(to_coverage_upload(item));
  if (out.size() > static_cast<std::size_t>(limit)) out.resize(limit);  // a server that ignores `limit`
  return out;
}

Result<OrganizationInfo> ApiClient::add_organization(const std::string& provider, const std::string& name) {
  RT_TRY(auto r, call("POST", "/organizations", json{{"provider", provider}, {"name", name}}.dump()));
  RT_TRY(auto body, parse_body(r));
  // Codacy's AddOrganizationResponse {"organization": {...}, "warnings": [...]} (repotokensd answers the same).
  const json& d = body.is_object() && body.contains("organization") && body["organization"].is_object()
                      ? body["organization"] : unwrap(body);
  return OrganizationInfo{provider, string_field(d, "name"), "admin"};
}

Result<RepositorySummary> ApiClient::add_repository(const std::string& provider, const std::string& org,
                                                    const std::string& name, const std::string& visibility,
                                                    const std::string& remote_identifier) {
  json body{{"provider", provider}, {"repositoryFullPath", org + "/" + name}};
  if (!visibility.empty()) body["visibility"] = visibility;
  if (!remote_identifier.empty()) body["remoteIdentifier"] = remote_identifier;
  RT_TRY(auto r, call("POST", "/repositories", body.dump()));
  RT_TRY(auto parsed, parse_body(r));
  return to_repository(unwrap(parsed));
}

Result<UserInfo> ApiClient::create_user(const std::string& name, const std::string& email, bool is_admin) {
  json body{{"name", name}, {"isAdmin", is_admin}};
  if (!email.empty()) body["email"] = email;
  RT_TRY(auto r, call("POST", "/admin/users", body.dump()));
  RT_TRY(auto parsed, parse_body(r));
  const json& d = unwrap(parsed);
  return UserInfo{id_field(d, "id"), string_field(d, "name"), d.value("isAdmin", false)};
}

Result<CreatedToken> ApiClient::issue_user_token(Id user_id, std::optional<UnixTime> expires_at) {
  json body = json::object();
  if (expires_at) body["expiresAt"] = format_rfc3339(*expires_at);
  RT_TRY(auto r, call("POST", "/admin/users/" + std::to_string(user_id) + "/tokens", body.dump()));
  RT_TRY(auto parsed, parse_body(r));
  CreatedToken t = to_created(unwrap(parsed));
  if (t.secret.empty()) return make_error(ErrorKind::internal, "the server's reply held no token");
  return t;
}

Status ApiClient::report_leaked_token(const std::string& secret, const std::string& location) {
  json body = {{"token", secret}};
  if (!location.empty()) body["location"] = location;
  RT_TRY(auto r, call("POST", "/tokens/revoke", body.dump()));  // repeatable: revoking twice is harmless
  (void)r;
  return ok_status();
}

Result<CiExchangedToken> ApiClient::exchange_ci_token(const std::string& jwt) {
  RT_TRY(auto r, call("POST", "/ci/token", json{{"jwt", jwt}}.dump(), false));
  RT_TRY(auto body, parse_body(r));
  const json& d = unwrap(body);
  CiExchangedToken t;
  t.secret = string_field(d, "token");
  t.name = string_field(d, "name");
  t.expires_at = time_field(d, "expiresAt");
  if (d.contains("repository") && d["repository"].is_object()) {
    t.provider = string_field(d["repository"], "provider");
    t.owner = string_field(d["repository"], "owner");
    t.repository = string_field(d["repository"], "name");
  }
  if (t.secret.empty()) return make_error(ErrorKind::internal, "the server's reply to the exchange held no token");
  return t;
}

Result<std::vector<CiTrustRuleInfo>> ApiClient::list_ci_trust_rules(const std::string& provider,
                                                                    const std::string& org, const std::string& repo) {
  RT_TRY(auto r, call("GET", repo_path(provider, org, repo) + "/ci-trust"));
  RT_TRY(auto body, parse_body(r));
  const json& d = unwrap(body);
  if (!d.is_array()) return make_error(ErrorKind::internal, "the server's list of trust rules is not a list");
  std::vector<CiTrustRuleInfo> rules;
  for (const auto& item : d)
    if (item.is_object()) rules.push_back(to_trust_rule(item));
  return rules;
}

Result<CiTrustRuleInfo> ApiClient::add_ci_trust_rule(const std::string& provider, const std::string& org,
                                                     const std::string& repo, const NewCiTrustRule& rule) {
  json claims = json::object();
  for (const auto& [name, value] : rule.claims) claims[name] = value;
  json body = {{"issuer", rule.issuer}, {"claims", claims}};
  if (rule.audience) body["audience"] = *rule.audience;
  if (rule.lifetime_minutes) body["lifetimeMinutes"] = *rule.lifetime_minutes;
  if (rule.binds_only_names) body["bindsOnlyNames"] = true;
  // Not repeated once it may have been carried out: a second identical rule is what `trust add` avoids.
  RT_TRY(auto r, call("POST", repo_path(provider, org, repo) + "/ci-trust", body.dump(), false));
  RT_TRY(auto parsed, parse_body(r));
  return to_trust_rule(unwrap(parsed));
}

Status ApiClient::delete_ci_trust_rule(const std::string& provider, const std::string& org, const std::string& repo,
                                       Id id) {
  RT_TRY(auto r, call("DELETE", repo_path(provider, org, repo) + "/ci-trust/" + std::to_string(id)));
  (void)r;
  return ok_status();
}

Status ApiClient::set_member_role(const std::string& provider, const std::string& org, Id user_id,
                                  const std::string& role) {
  std::string path = "/organizations/" + encode_path_segment(provider) + "/" + encode_path_segment(org) + "/people/" +
                     std::to_string(user_id);
  RT_TRY(auto r, call("PUT", path, json{{"role", role}}.dump()));
  (void)r;
  return ok_status();
}

Status ApiClient::grant_repository_permission(const std::string& provider, const std::string& org,
                                              const std::string& repo, Id user_id, const std::string& permission) {
  RT_TRY(auto r, call("PUT", repo_path(provider, org, repo) + "/people/" + std::to_string(user_id),
                      json{{"permission", permission}}.dump()));
  (void)r;
  return ok_status();
}

}  // namespace rt::client
