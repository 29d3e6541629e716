// The service's front door: its parts put together (admission, access, the lastUsedAt writer, the CI
// purge), and the small helpers every operation shares. Operations live in service_*.cc by concern.
#include "service/service.h"

#include <charconv>
#include <unordered_map>

#include <fmt/format.h>

#include "service/internal.h"

namespace rt {

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
      cursors_(hasher) {
  metrics::describe("repotokens_auth_failures_total", "counter", "Refused credentials by reason.");
  metrics::describe("repotokens_rate_limited_total", "counter", "Requests refused by a rate limit, by scope.");
  metrics::describe("repotokens_tokens_created_total", "counter", "Tokens issued, by kind.");
  metrics::describe("repotokens_tokens_revoked_total", "counter", "Tokens revoked, by kind.");
  metrics::describe("repotokens_leak_reports_total", "counter",
                    "Leaked-token reports by channel and by format (malformed or well-formed), never by match.");
  metrics::describe("repotokens_store_duration_seconds", "histogram", "Store call latency, by operation.");
  metrics::describe("repotokens_ci_exchanges_total", "counter", "CI token exchanges, by result.");
  parts_ = std::make_unique<Parts>(*this);
}

Service::~Service() = default;  // Parts stops its threads (the CI purge, then the lastUsedAt writer's flush)

Service::Parts::Parts(Service& s)
    : last_use(s.store_, s.clock_, std::chrono::milliseconds(s.options_.last_use_flush_ms)),
      resolver(s.store_, std::chrono::milliseconds(s.options_.cache_ttl_ms)),
      admitter(s.store_, s.hasher_, s.clock_, s.limiter_, last_use, s.options_.per_token, s.options_.per_address,
               std::chrono::milliseconds(s.options_.cache_ttl_ms),
               [&s](const std::string& session_id) { return s.authenticate_console_session(session_id); }),
      ci_rules(std::chrono::milliseconds(s.options_.cache_ttl_ms)) {
  if (s.options_.ci_issuers.empty()) return;
  if (s.options_.ci_fetcher)
    ci_keys = std::make_unique<CiKeyCache>(s.options_.ci_fetcher, s.clock_, s.options_.ci_key_refetch_seconds);
  // A failed purge is retried at the next interval.
  ci_purge.emplace(std::chrono::milliseconds(s.options_.last_use_flush_ms),
                   std::chrono::seconds(s.options_.ci_purge_interval_seconds),
                   [&s] { (void)s.purge_expired_ci_tokens(); });
}

Admission Service::admit(const Credentials& credentials, bool anonymous_allowed) {
  return parts_->admitter.admit(credentials, anonymous_allowed);
}

std::optional<Admission> Service::try_admit_from_memory(const Credentials& credentials) {
  return parts_->admitter.try_admit_from_memory(credentials);
}

std::optional<Result<RepositoryView>> Service::try_get_repository_from_memory(const Principal& p,
                                                                              const RepoRef& ref) {
  return parts_->resolver.try_get_repository_from_memory(p, ref);
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

void Service::flush_last_use() { parts_->last_use.flush(); }

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

void Service::invalidate_caches() {
  parts_->admitter.clear();
  parts_->resolver.clear();
  parts_->ci_rules.clear();
}

}  // namespace rt
