// The web console's rules: opening and ending sessions, checking them on every request (idle and
// absolute lifetimes, the account token still alive), the CSRF token each session carries, and the
// summaries the console's pages read in one call (repository overviews, expiring tokens).
#include <fmt/format.h>

#include "service/internal.h"

namespace rt {
namespace {

// Session ids carry a prefix of their own, so a leaked cookie is recognisable like a leaked token.
constexpr std::string_view kSessionPrefix = "rtks_";
constexpr size_t kSessionRandomBytes = 32;
// lastSeen is written at most this often per session: the idle end is exact to within this much.
constexpr UnixTime kTouchEverySeconds = 60;

Error session_ended(std::string_view why) {
  return make_error(ErrorKind::unauthorized, fmt::format("console session {}; sign in again", why));
}

}  // namespace

SecretHash Service::console_session_hash(std::string_view session_id) const {
  // Domain-separated from token hashes: a session id can never be looked up as a token, nor the reverse.
  return hasher_.hash_token(fmt::format("console-session:{}", session_id));
}

std::string Service::console_csrf_token(std::string_view session_id) const {
  auto mac = hasher_.mac(fmt::format("console-csrf:{}", session_id));
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

bool Service::check_console_csrf(std::string_view session_id, std::string_view presented) const {
  const std::string expected = console_csrf_token(session_id);
  if (presented.size() != expected.size()) return false;
  return constant_time_equal(std::span(reinterpret_cast<const std::uint8_t*>(expected.data()), expected.size()),
                             std::span(reinterpret_cast<const std::uint8_t*>(presented.data()), presented.size()));
}

Result<OpenedConsoleSession> Service::open_console_session(const Credentials& c) {
  if (!c.api_token || c.api_token->empty())
    return make_error(ErrorKind::invalid, "send {\"token\": \"<your account API token>\"} to sign in");
  Credentials only_token{.api_token = c.api_token, .client_address = c.client_address};
  Admission admission = admit(only_token);
  if (!admission.principal) return *admission.error;
  Principal& p = *admission.principal;
  if (p.kind != Principal::Kind::user)
    return make_error(ErrorKind::unauthorized, "sign in with an account API token, not a repository token");
  const UnixTime now = clock_.now();
  std::array<std::uint8_t, kSessionRandomBytes> bytes{};
  random_.fill(bytes);
  OpenedConsoleSession opened;
  opened.session_id =
      std::string(kSessionPrefix) + base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  opened.csrf_token = console_csrf_token(opened.session_id);
  opened.user = p.user;
  // The token's own expiry (and revocation) is checked again on every request made with the session.
  opened.opened_at = now;
  opened.expires_at = now + options_.console.absolute_seconds;
  (void)timed("purge_console_sessions",
              [&] { return store_.purge_console_sessions(now, now - options_.console.idle_seconds); });
  ConsoleSession row{.hash = console_session_hash(opened.session_id),
                     .account_token_id = p.account_token_id,
                     .created_at = now,
                     .last_seen_at = now,
                     .expires_at = opened.expires_at};
  RT_TRY_STATUS(timed("create_console_session", [&] { return store_.create_console_session(row); }));
  metrics::add("repotokens_console_sign_ins_total");
  return opened;
}

Status Service::close_console_session(std::string_view session_id) {
  return timed("delete_console_session",
               [&] { return store_.delete_console_session(console_session_hash(session_id)); });
}

Result<Principal> Service::authenticate_console_session(const std::string& session_id) {
  if (!session_id.starts_with(kSessionPrefix) || session_id.size() > 100) return session_ended("unknown");
  const SecretHash hash = console_session_hash(session_id);
  auto found = timed("find_console_session", [&] { return store_.find_console_session(hash); });
  if (!found.ok()) {
    if (found.error().kind != ErrorKind::not_found) return found.error();
    return session_ended("unknown, signed out, or ended by the revocation of its token");
  }
  const UnixTime now = clock_.now();
  const ConsoleSession& s = found->session;
  const AccountTokenOwner& owner = found->owner;
  if (s.expires_at <= now || s.last_seen_at + options_.console.idle_seconds <= now) {
    (void)store_.delete_console_session(hash);
    return session_ended(s.expires_at <= now ? "reached its maximum lifetime" : "ended after a time without use");
  }
  if (owner.token.expires_at && *owner.token.expires_at <= now)
    return make_error(ErrorKind::expired, fmt::format("the account API token of this console session expired at {}; "
                                                      "sign in with a new one",
                                                      format_rfc3339(*owner.token.expires_at)));
  if (now - s.last_seen_at >= kTouchEverySeconds)
    (void)timed("touch_console_session", [&] { return store_.touch_console_session(hash, now); });
  Principal p;
  p.kind = Principal::Kind::user;
  p.user = owner.user;
  p.account_token_id = owner.token.id;
  p.console_session_ends = s.expires_at;
  parts_->last_use.note(TokenKind::account, p.account_token_id);
  return p;
}

Result<ListPage<RepositoryOverview>> Service::list_repository_overviews(const Principal& p, const OrgRef& org,
                                                                        const RepositoryListRequest& req,
                                                                        const PageRequest& page) {
  RT_TRY(ListPage<RepositoryView> repos, list_repositories(p, org, req, page));
  std::vector<Id> ids;
  ids.reserve(repos.items.size());
  for (const auto& v : repos.items) ids.push_back(v.repository.id);
  // One query for every row's tokens; one indexed read per row for its last upload (a page is bounded).
  RT_TRY(auto summaries, timed("summarize_repository_tokens",
                               [&] { return store_.summarize_repository_tokens(ids, clock_.now()); }));
  std::map<Id, RepositoryTokenSummary> by_id;
  for (auto& s : summaries) by_id[s.repository_id] = s;
  ListPage<RepositoryOverview> out;
  out.total = repos.total;
  out.limit = repos.limit;
  out.cursor = std::move(repos.cursor);
  CoverageStore& coverage = store_.coverage();
  for (auto& v : repos.items) {
    RepositoryOverview o;
    if (auto it = by_id.find(v.repository.id); it != by_id.end()) {
      o.live_tokens = it->second.live;
      o.soonest_expiry = it->second.soonest_expiry;
    }
    RT_TRY(auto uploads,
           timed("list_coverage_uploads", [&] { return coverage.list_coverage_uploads(v.repository.id, 1); }));
    if (!uploads.empty()) o.last_upload = std::move(uploads.front());
    o.view = std::move(v);
    out.items.push_back(std::move(o));
  }
  return out;
}

Result<ListPage<ExpiringTokenView>> Service::list_expiring_tokens(const Principal& p, const PageRequest& page) {
  RT_TRY_STATUS(require_user(p));
  ExpiringTokenQuery q;
  if (!p.user.is_admin) q.admin_user_id = p.user.id;
  q.now = clock_.now();
  q.limit = page.limit;
  const std::string scope = fmt::format("expiring:{}", p.user.id);
  if (page.cursor) {
    RT_TRY(std::string position, cursors_.decode(scope, *page.cursor));
    auto colon = position.find(':');
    auto at = parse_id(position.substr(0, colon));
    auto id = colon == std::string::npos ? std::nullopt : parse_id(position.substr(colon + 1));
    if (!at || !id) return make_error(ErrorKind::invalid, "malformed cursor: pass the previous page's cursor unchanged");
    q.after = std::pair<UnixTime, Id>{*at, *id};
  }
  RT_TRY(Page<ExpiringToken> rows,
         timed("list_expiring_repository_tokens", [&] { return store_.list_expiring_repository_tokens(q); }));
  ListPage<ExpiringTokenView> out;
  out.total = rows.total;
  out.limit = page.limit;
  if (rows.more && !rows.items.empty())
    out.cursor = cursors_.encode(
        scope, fmt::format("{}:{}", rows.items.back().token.expires_at, rows.items.back().token.id));
  for (auto& e : rows.items)
    out.items.push_back(ExpiringTokenView{std::move(e.token), std::move(e.repository), e.warning_days});
  return out;
}

}  // namespace rt
