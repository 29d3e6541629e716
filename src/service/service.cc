// The service's front door: admission (authentication + rate limits), the batched lastUsedAt writer,
// and the small helpers every operation shares. Operations live in service_*.cc by concern.
#include "service/service.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "service/internal.h"

namespace rt {
namespace {

void count_auth_failure(std::string_view reason) {
  metrics::add("repotokens_auth_failures_total", fmt::format("reason=\"{}\"", reason));
}

}  // namespace

std::string Principal::describe() const {
  if (kind == Kind::user) return "user:" + user.name;
  if (kind == Kind::anonymous) return "anonymous";
  return "repository-token:" + std::to_string(repository_token.id);
}

const std::string& store_op_label(const char* op) {
  thread_local std::unordered_map<const char*, std::string> labels;
  auto [it, fresh] = labels.try_emplace(op);
  if (fresh) it->second = fmt::format("op=\"{}\"", op);
  return it->second;
}

Status require_user(const Principal& p) {
  if (p.kind == Principal::Kind::user) return ok_status();
  if (p.kind == Principal::Kind::anonymous)
    return make_error(ErrorKind::unauthorized, "missing credentials: send an account API token in the api-token "
                                               "header");
  return make_error(ErrorKind::forbidden,
                    "this operation needs an account API token (api-token header); a project token may only "
                    "read its own repository and upload its coverage");
}

std::string org_path(const Organization& org) { return fmt::format("{}/{}", provider_code(org.provider), org.name); }

std::string repo_path(const Organization& org, const std::string& repo) {
  return fmt::format("{}/{}/{}", provider_code(org.provider), org.name, repo);
}

Result<std::optional<Id>> cursor_id(const CursorCodec& codec, const std::string& scope, const PageRequest& page) {
  if (!page.cursor) return std::optional<Id>();
  RT_TRY(std::string position, codec.decode(scope, *page.cursor));
  auto id = parse_id(position);
  if (!id) return make_error(ErrorKind::invalid, "malformed cursor: pass the previous page's cursor unchanged");
  return std::optional<Id>(*id);
}

Result<PageRequest> make_page_request(std::optional<std::string> cursor, std::optional<std::string> limit) {
  PageRequest page;
  if (cursor && !cursor->empty()) page.cursor = std::move(cursor);
  if (limit) {
    int n = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (limit->empty() || ec != std::errc() || end != limit->data() + limit->size() || n < 1 || n > 1000)
      return make_error(ErrorKind::invalid, "limit must be a whole number from 1 to 1000 (default 100)");
    page.limit = n;
  }
  return page;
}

Service::Service(Store& store, const SecretHasher& hasher, const Clock& clock, RandomSource& random,
                 Limiter& limiter, ServiceOptions options)
    : store_(store),
      hasher_(hasher),
      clock_(clock),
      random_(random),
      limiter_(limiter),
      options_(std::move(options)),
      cursors_(hasher),
      account_tokens_(std::chrono::milliseconds(options_.cache_ttl_ms)),
      repository_tokens_(std::chrono::milliseconds(options_.cache_ttl_ms)),
      organizations_(std::chrono::milliseconds(options_.cache_ttl_ms)),
      repositories_(std::chrono::milliseconds(options_.cache_ttl_ms)),
      roles_(std::chrono::milliseconds(options_.cache_ttl_ms)),
      permissions_(std::chrono::milliseconds(options_.cache_ttl_ms)),
      ci_rules_(std::chrono::milliseconds(options_.cache_ttl_ms)) {
  metrics::describe("repotokens_auth_failures_total", "counter", "Refused credentials by reason.");
  metrics::describe("repotokens_rate_limited_total", "counter", "Requests refused by a rate limit, by scope.");
  metrics::describe("repotokens_tokens_created_total", "counter", "Tokens issued, by kind.");
  metrics::describe("repotokens_tokens_revoked_total", "counter", "Tokens revoked, by kind.");
  metrics::describe("repotokens_leak_reports_total", "counter",
                    "Leaked-token reports by channel and by format (malformed or well-formed), never by match.");
  metrics::describe("repotokens_store_duration_seconds", "histogram", "Store call latency, by operation.");
  if (!options_.ci_issuers.empty() && options_.ci_fetcher)
    ci_keys_ = std::make_unique<CiKeyCache>(options_.ci_fetcher, clock_, options_.ci_key_refetch_seconds);
  metrics::describe("repotokens_ci_exchanges_total", "counter", "CI token exchanges, by result.");
  flusher_ = std::thread([this] { flusher_loop(); });
}

Service::~Service() {
  {
    std::lock_guard lock(use_mu_);
    stopping_ = true;
  }
  flusher_cv_.notify_all();
  flusher_.join();
  flush_last_use();
}

Result<Principal> Service::authenticate(const Credentials& c) {
  const bool use_account = c.api_token && !c.api_token->empty();
  if (!use_account && !(c.project_token && !c.project_token->empty()) && c.console_session)
    return authenticate_console_session(*c.console_session);
  const std::string& secret = use_account ? *c.api_token : (c.project_token ? *c.project_token : std::string());
  if (secret.empty()) {
    count_auth_failure("missing");
    return make_error(ErrorKind::unauthorized,
                      "missing credentials: send an account API token in the api-token header, or a repository "
                      "token in the project-token header");
  }
  const char* header = use_account ? "api-token" : "project-token";
  auto kind = check_token_format(secret);
  if (!kind.ok() || *kind != (use_account ? TokenKind::account : TokenKind::repository)) {
    count_auth_failure("malformed");
    std::string why = kind.ok() ? (use_account ? "this is a repository token; send it as project-token"
                                               : "this is an account token; send it as api-token")
                                : kind.error().message;
    return make_error(ErrorKind::unauthorized, fmt::format("invalid {} header: {}", header, why));
  }
  const SecretHash hash = hasher_.hash_token(secret);
  const UnixTime now = clock_.now();
  Principal p;
  if (use_account) {
    auto found = cached(account_tokens_, hash, [&] { return store_.find_account_token(hash); },
                        "find_account_token");
    if (!found.ok()) {
      if (found.error().kind != ErrorKind::not_found) return found.error();
      count_auth_failure("unknown");
      return make_error(ErrorKind::unauthorized, "unknown or revoked account API token");
    }
    if (found->token.expires_at && *found->token.expires_at <= now) {
      count_auth_failure("expired");
      return make_error(ErrorKind::expired, fmt::format("account API token expired at {}; create a new one",
                                                        format_rfc3339(*found->token.expires_at)));
    }
    p.kind = Principal::Kind::user;
    p.user = std::move(found->user);
    p.account_token_id = found->token.id;
    note_use(TokenKind::account, p.account_token_id);
  } else {
    auto found = cached(repository_tokens_, hash, [&] { return store_.find_repository_token(hash); },
                        "find_repository_token");
    if (!found.ok()) {
      if (found.error().kind != ErrorKind::not_found) return found.error();
      count_auth_failure("unknown");
      return make_error(ErrorKind::unauthorized, "unknown or revoked project token");
    }
    if (found->expires_at <= now) {
      count_auth_failure("expired");
      return make_error(ErrorKind::expired, fmt::format("project token expired at {}; ask a repository admin "
                                                        "for a new one",
                                                        format_rfc3339(found->expires_at)));
    }
    p.kind = Principal::Kind::repository_token;
    p.repository_token = std::move(found).value();
    note_use(TokenKind::repository, p.repository_token.id);
  }
  return p;
}

Admission Service::admit(const Credentials& credentials, bool anonymous_allowed) {
  const bool none = (!credentials.api_token || credentials.api_token->empty()) &&
                    (!credentials.project_token || credentials.project_token->empty());
  if (anonymous_allowed && none) {
    Principal anonymous;
    anonymous.kind = Principal::Kind::anonymous;
    return charge(credentials, std::move(anonymous));
  }
  return charge(credentials, authenticate(credentials));
}

Admission Service::charge(const Credentials& credentials, Result<Principal> principal) {
  Admission a;
  const RateLimitRule* rule = nullptr;
  std::string key;
  if (principal.ok() && principal->kind == Principal::Kind::anonymous) {
    rule = &options_.per_address;  // no credential: the address pays, as for a refused one
    key = "ip:" + credentials.client_address;
  } else if (principal.ok()) {
    rule = &options_.per_token;
    key = principal->kind == Principal::Kind::user ? "a:" + std::to_string(principal->account_token_id)
                                                  : "r:" + std::to_string(principal->repository_token.id);
  } else if (principal.error().kind == ErrorKind::unavailable || principal.error().kind == ErrorKind::internal) {
    a.error = principal.error();  // the store failed; say so without charging anyone
    return a;
  } else {
    rule = &options_.per_address;
    key = "ip:" + credentials.client_address;
  }
  if (rule->enabled()) {
    a.rule = rule;
    a.decision = limiter_.check(key, *rule);
    if (a.decision.unavailable) {
      // Fail-closed during a Redis outage: nobody's budget is known, so this is 503, not a 429 for the caller.
      a.rule = nullptr;
      a.error = make_error(ErrorKind::unavailable,
                           fmt::format("rate limit store unreachable: the shared rate limits cannot be checked and this "
                                       "server refuses requests meanwhile (fail-closed); retry in {:.0f} s",
                                       std::ceil(a.decision.retry_after)));
      return a;
    }
    if (!a.decision.allowed) {
      metrics::add("repotokens_rate_limited_total", principal.ok() ? "scope=\"token\"" : "scope=\"address\"");
      a.error = make_error(ErrorKind::throttled,
                           fmt::format("rate limit exceeded ({} requests/s, burst {}); retry in {:.1f} s",
                                       rule->rate_per_second, rule->burst, a.decision.retry_after));
      return a;
    }
  }
  if (principal.ok())
    a.principal = std::move(principal).value();
  else
    a.error = principal.error();
  return a;
}

std::optional<Admission> Service::try_admit_from_memory(const Credentials& c) {
  if (limiter_.blocking() || !c.project_token || (c.api_token && !c.api_token->empty())) return std::nullopt;
  if (!check_token_format(*c.project_token).ok()) return std::nullopt;  // the slow path words the error
  auto token = repository_tokens_.get(hasher_.hash_token(*c.project_token));
  if (!token || token->expires_at <= clock_.now()) return std::nullopt;
  Principal p;
  p.kind = Principal::Kind::repository_token;
  p.repository_token = std::move(*token);
  note_use(TokenKind::repository, p.repository_token.id);
  return charge(c, std::move(p));
}

std::optional<Result<RepositoryView>> Service::try_get_repository_from_memory(const Principal& p,
                                                                              const RepoRef& ref) {
  if (p.kind != Principal::Kind::repository_token) return std::nullopt;
  auto org = organizations_.get(fmt::format("{}/{}", ref.org.provider, ref.org.org));
  if (!org) return std::nullopt;
  auto repo = repositories_.get(fmt::format("{}/{}", org->id, ref.repo));
  if (!repo || repo->id != p.repository_token.repository_id) return std::nullopt;
  return Result<RepositoryView>(RepositoryView{std::move(*repo), std::nullopt});
}

AuditEvent Service::audit(const Principal& p, std::optional<Id> org_id, std::string action, std::string target,
                          std::string details) {
  AuditEvent e;
  e.org_id = org_id;
  e.at = clock_.now();
  if (p.kind == Principal::Kind::user) e.actor_user_id = p.user.id;
  e.actor = p.describe();
  e.action = std::move(action);
  e.target = std::move(target);
  e.details = std::move(details);
  return e;
}

// lastUsedAt: requests only note the time in memory; a background thread writes the batch. A crash loses
// at most one flush interval of "last used" times, never a token.
void Service::note_use(TokenKind kind, Id token_id) {
  const UnixTime now = clock_.now();
  std::lock_guard lock(use_mu_);
  auto& t = pending_use_[{static_cast<int>(kind), token_id}];
  t = std::max(t, now);
}

void Service::flush_last_use() {
  std::map<std::pair<int, Id>, UnixTime> batch;
  {
    std::lock_guard lock(use_mu_);
    batch.swap(pending_use_);
  }
  if (batch.empty()) return;
  std::vector<LastUse> uses;
  uses.reserve(batch.size());
  for (const auto& [key, at] : batch) uses.push_back({static_cast<TokenKind>(key.first), key.second, at});
  (void)timed("record_last_use", [&] { return store_.record_last_use(uses); });
}

void Service::flusher_loop() {
  std::unique_lock lock(use_mu_);
  auto next_purge = std::chrono::steady_clock::now();
  while (!stopping_) {
    flusher_cv_.wait_for(lock, std::chrono::milliseconds(options_.last_use_flush_ms));
    if (stopping_) break;
    lock.unlock();
    flush_last_use();
    if (!options_.ci_issuers.empty() && std::chrono::steady_clock::now() >= next_purge) {
      (void)purge_expired_ci_tokens();  // a failure is retried at the next interval
      next_purge = std::chrono::steady_clock::now() + std::chrono::seconds(options_.ci_purge_interval_seconds);
    }
    lock.lock();
  }
}

Result<int> Service::purge_expired_ci_tokens() {
  constexpr int kBatch = 1000;
  const UnixTime before = clock_.now() - options_.ci_token_retention_seconds;
  int purged = 0;
  for (;;) {  // in batches, so that one purge never holds the writer for long
    RT_TRY(int n, timed("purge_expired_ci_tokens", [&] { return store_.purge_expired_ci_tokens(before, kBatch); }));
    purged += n;
    if (n < kBatch) break;
  }
  if (purged > 0) metrics::add("repotokens_ci_tokens_purged_total", {}, purged);
  return purged;
}

size_t Service::HashOfSecret::operator()(const SecretHash& h) const {
  size_t v;  // the hash is already uniformly distributed: its first bytes are a fine bucket index
  std::memcpy(&v, h.data(), sizeof v);
  return v;
}

void Service::invalidate_caches() {
  account_tokens_.clear();
  repository_tokens_.clear();
  organizations_.clear();
  repositories_.clear();
  roles_.clear();
  permissions_.clear();
  ci_rules_.clear();
}

Result<Repository> Service::find_repo(Id org_id, const std::string& name) {
  return cached(repositories_, fmt::format("{}/{}", org_id, name),
                [&] { return store_.get_repository(org_id, name); }, "get_repository");
}

// --- access resolution ---------------------------------------------------------------------------------

Result<Organization> Service::find_org(const OrgRef& ref) {
  RT_TRY(Provider provider, check_provider(ref.provider));
  auto org = cached(organizations_, fmt::format("{}/{}", ref.provider, ref.org),
                    [&] { return store_.get_organization(provider, ref.org); }, "get_organization");
  if (!org.ok() && org.error().kind == ErrorKind::not_found)
    return make_error(ErrorKind::not_found,
                      fmt::format("organization {}/{} not found", ref.provider, ref.org.substr(0, 100)));
  return org;
}

Result<Service::Access> Service::org_access(const Principal& p, const OrgRef& ref) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Organization org, find_org(ref));
  RT_TRY(std::optional<OrgRole> role, cached(roles_, fmt::format("{}/{}", org.id, p.user.id),
                                             [&] { return store_.get_role(org.id, p.user.id); }, "get_role"));
  if (!role && !p.user.is_admin)  // outsiders learn nothing, not even that it exists
    return make_error(ErrorKind::not_found,
                      fmt::format("organization {}/{} not found", ref.provider, ref.org.substr(0, 100)));
  Access a;
  a.org = std::move(org);
  a.org_admin = p.user.is_admin || role == OrgRole::admin;
  a.role = a.org_admin ? OrgRole::admin : *role;
  return a;
}

namespace {
// The one answer for a repository the caller may not see and for one that does not exist.
Error repository_not_found(const RepoRef& ref) {
  return make_error(ErrorKind::not_found, fmt::format("repository {}/{}/{} not found", ref.org.provider,
                                                      ref.org.org.substr(0, 100), ref.repo.substr(0, 100)));
}
}  // namespace

Result<Service::Access> Service::repo_access(const Principal& p, const RepoRef& ref, bool ci_allowed) {
  auto not_found = [&] { return repository_not_found(ref); };
  if (p.kind == Principal::Kind::anonymous) return public_repo_access(ref);
  if (p.kind == Principal::Kind::repository_token) {
    if (p.repository_token.ci_only && !ci_allowed)
      return make_error(ErrorKind::forbidden, "this token was issued by a CI exchange: it may upload coverage and "
                                              "read its repository (getRepository), nothing else");
    // A project token sees exactly one repository; any other answers as if it did not exist.
    auto org = find_org(ref.org);
    if (!org.ok()) return org.error().kind == ErrorKind::not_found ? not_found() : org.error();
    auto repo = find_repo(org->id, ref.repo);
    if (!repo.ok()) return repo.error().kind == ErrorKind::not_found ? not_found() : repo.error();
    if (repo->id != p.repository_token.repository_id) return not_found();
    Access a;
    a.org = std::move(org).value();
    a.repo = std::move(repo).value();
    return a;
  }
  auto access = org_access(p, ref.org);
  if (!access.ok()) return access.error().kind == ErrorKind::not_found ? not_found() : access.error();
  Access a = std::move(access).value();
  auto repo = find_repo(a.org.id, ref.repo);
  if (!repo.ok()) return repo.error().kind == ErrorKind::not_found ? not_found() : repo.error();
  if (a.org_admin) {
    a.permission = Permission::admin;
  } else {
    RT_TRY(std::optional<Permission> grant,
           cached(permissions_, fmt::format("{}/{}", repo->id, p.user.id),
                  [&] { return store_.get_permission(repo->id, p.user.id); }, "get_permission"));
    if (grant)
      a.permission = grant;
    else if (repo->visibility != Visibility::Private)
      a.permission = Permission::read;
    else
      return not_found();
  }
  a.repo = std::move(repo).value();
  return a;
}

// Without a credential only Public repositories exist; the answer for any other is the one for a
// repository that does not exist, word for word.
Result<Service::Access> Service::public_repo_access(const RepoRef& ref) {
  auto not_found = [&] { return repository_not_found(ref); };
  auto org = find_org(ref.org);
  if (!org.ok()) return org.error().kind == ErrorKind::not_found ? not_found() : org.error();
  auto repo = find_repo(org->id, ref.repo);
  if (!repo.ok()) return repo.error().kind == ErrorKind::not_found ? not_found() : repo.error();
  if (repo->visibility != Visibility::Public) return not_found();
  Access a;
  a.org = std::move(org).value();
  a.repo = std::move(repo).value();
  return a;
}

}  // namespace rt
