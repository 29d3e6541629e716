// Admitter: credential checks (format and checksum before any lookup, then the keyed hash through the
// caches), expiry, and the rate-limit charge that every admission ends with.
#include "service/admission.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "service/internal.h"

namespace rt {
namespace {

void count_auth_failure(std::string_view reason) {
  metrics::add("repotokens_auth_failures_total", fmt::format("reason=\"{}\"", reason));
}

}  // namespace

Admitter::Admitter(Store& store, const SecretHasher& hasher, const Clock& clock, Limiter& limiter,
                   LastUseRecorder& last_use, RateLimitRule per_token, RateLimitRule per_address,
                   std::chrono::milliseconds cache_ttl, SessionAuthenticator sessions)
    : store_(store),
      hasher_(hasher),
      clock_(clock),
      limiter_(limiter),
      last_use_(last_use),
      per_token_(std::move(per_token)),
      per_address_(std::move(per_address)),
      sessions_(std::move(sessions)),
      account_tokens_(cache_ttl),
      repository_tokens_(cache_ttl) {}

void Admitter::clear() {
  account_tokens_.clear();
  repository_tokens_.clear();
}

Result<Principal> Admitter::authenticate(const Credentials& c) {
  const bool use_account = c.api_token && !c.api_token->empty();
  if (!use_account && !(c.project_token && !c.project_token->empty()) && c.console_session)
    return sessions_(*c.console_session);
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
    last_use_.note(TokenKind::account, p.account_token_id);
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
    last_use_.note(TokenKind::repository, p.repository_token.id);
  }
  return p;
}

Admission Admitter::admit(const Credentials& credentials, bool anonymous_allowed) {
  const bool none = (!credentials.api_token || credentials.api_token->empty()) &&
                    (!credentials.project_token || credentials.project_token->empty());
  if (anonymous_allowed && none) {
    Principal anonymous;
    anonymous.kind = Principal::Kind::anonymous;
    return charge(credentials, std::move(anonymous));
  }
  return charge(credentials, authenticate(credentials));
}

Admission Admitter::charge(const Credentials& credentials, Result<Principal> principal) {
  Admission a;
  const RateLimitRule* rule = nullptr;
  std::string key;
  if (principal.ok() && principal->kind == Principal::Kind::anonymous) {
    rule = &per_address_;  // no credential: the address pays, as for a refused one
    key = "ip:" + credentials.client_address;
  } else if (principal.ok()) {
    rule = &per_token_;
    key = principal->kind == Principal::Kind::user ? "a:" + std::to_string(principal->account_token_id)
                                                  : "r:" + std::to_string(principal->repository_token.id);
  } else if (principal.error().kind == ErrorKind::unavailable || principal.error().kind == ErrorKind::internal) {
    a.error = principal.error();  // the store failed; say so without charging anyone
    return a;
  } else {
    rule = &per_address_;
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

std::optional<Admission> Admitter::try_admit_from_memory(const Credentials& c) {
  if (limiter_.blocking() || !c.project_token || (c.api_token && !c.api_token->empty())) return std::nullopt;
  if (!check_token_format(*c.project_token).ok()) return std::nullopt;  // the slow path words the error
  auto token = repository_tokens_.get(hasher_.hash_token(*c.project_token));
  if (!token || token->expires_at <= clock_.now()) return std::nullopt;
  Principal p;
  p.kind = Principal::Kind::repository_token;
  p.repository_token = std::move(*token);
  last_use_.note(TokenKind::repository, p.repository_token.id);
  return charge(c, std::move(p));
}

size_t Admitter::HashOfSecret::operator()(const SecretHash& h) const {
  size_t v;  // the hash is already uniformly distributed: its first bytes are a fine bucket index
  std::memcpy(&v, h.data(), sizeof v);
  return v;
}

}  // namespace rt
