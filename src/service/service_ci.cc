// Secretless CI (API.md): a repository's trust rules in CI issuers, and the exchange of a CI job's OIDC
// token for a short-lived, CI-only repository token. Every check of the contract is made here, in the
// order that reveals least: shape, alg, issuer, signature, times, audience, jti, then the rules' claims.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ci/rule_index.h"
#include "service/internal.h"

namespace rt {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxJwtBytes = 16 * 1024;
constexpr size_t kMaxRuleClaims = 20;
constexpr size_t kMaxClaimLength = 200;
constexpr UnixTime kLeewaySeconds = 60;

Error invalid(std::string message) { return make_error(ErrorKind::invalid, std::move(message)); }
Error refused(std::string message) { return make_error(ErrorKind::unauthorized, std::move(message)); }

// The /metrics word for an exchange's outcome: one of a fixed few (the reasons' own first words), so a
// caller cannot grow the label set.
const char* exchange_result(const Result<CiExchange>& r) {
  if (r.ok()) return "issued";
  if (r.error().kind == ErrorKind::throttled) return "rate_limited";
  if (r.error().kind != ErrorKind::unauthorized) return "error";
  static constexpr std::pair<std::string_view, const char*> kReasons[] = {
      {"malformed", "malformed"},         {"signature", "signature"},     {"unknown issuer", "unknown_issuer"},
      {"expired", "expired"},             {"not yet valid", "not_yet_valid"}, {"wrong audience", "wrong_audience"},
      {"no trust rule", "no_rule"},       {"replayed", "replayed"}};
  for (const auto& [prefix, word] : kReasons)
    if (r.error().message.rfind(prefix, 0) == 0) return word;
  return "refused";
}

Status require_repo_admin(const Access& a) {
  if (a.permission == Permission::admin) return ok_status();
  return make_error(ErrorKind::forbidden, fmt::format("only an admin of repository {} may manage its CI trust rules",
                                                      repo_path(a.org, a.repo->name)));
}

// A numeric time claim: nullopt when absent; `malformed` when present but not a number.
Result<std::optional<UnixTime>> time_claim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::optional<UnixTime>();
  if (!it->is_number()) return refused(fmt::format("malformed: the JWT's {} claim is not a number", name));
  return std::optional<UnixTime>(static_cast<UnixTime>(it->get<double>()));
}

// The token's `aud`: one string or a list of them.
std::set<std::string> token_audiences(const json& payload) {
  std::set<std::string> out;
  auto it = payload.find("aud");
  if (it == payload.end()) return out;
  if (it->is_string()) out.insert(it->get<std::string>());
  if (it->is_array())
    for (const json& a : *it)
      if (a.is_string()) out.insert(a.get<std::string>());
  return out;
}

// The token name: ci-<run_id>-<jti prefix> (several jobs of one run each get their own), ci-<jti prefix>
// without a run id; only the characters a token name may hold.
std::string ci_token_name(const std::map<std::string, std::string>& claims, const std::string& jti) {
  auto clean = [](std::string_view text, size_t max) {
    std::string out;
    for (char c : text) {
      if (out.size() == max) break;
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') out.push_back(c);
    }
    return out;
  };
  std::string name = "ci-";
  if (auto it = claims.find("run_id"); it != claims.end() && !clean(it->second, 40).empty())
    name += clean(it->second, 40) + "-";
  else if (auto it2 = claims.find("pipeline_id"); it2 != claims.end() && !clean(it2->second, 40).empty())
    name += clean(it2->second, 40) + "-";
  std::string suffix = clean(jti, 12);
  return name + (suffix.empty() ? "token" : suffix);
}

}  // namespace

const CiIssuer* Service::find_ci_issuer(std::string_view url) const {
  for (const CiIssuer& i : options_.ci_issuers)
    if (i.url == url) return &i;
  return nullptr;
}

Result<std::vector<CiTrustRule>> Service::list_ci_trust_rules(const Principal& p, const RepoRef& ref) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(require_repo_admin(a));
  return timed("list_ci_trust_rules", [&] { return store_.list_ci_trust_rules(a.repo->id); });
}

Result<CiTrustRule> Service::add_ci_trust_rule(const Principal& p, const RepoRef& ref, const CiTrustRuleRequest& req) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(require_repo_admin(a));
  const CiIssuer* issuer = find_ci_issuer(req.issuer);
  if (!issuer) {
    std::string known;
    for (const CiIssuer& i : options_.ci_issuers) known += (known.empty() ? "" : ", ") + i.url;
    return invalid(fmt::format("issuer '{}' is not one of this server's CI issuers ({}); the server's --ci-issuer "
                               "option lists them",
                               req.issuer.substr(0, 200), known.empty() ? "none is configured" : known));
  }
  CiTrustRule rule;
  rule.repository_id = a.repo->id;
  rule.issuer = issuer->url;
  if (req.audience) {
    if (req.audience->empty() || req.audience->size() > kMaxClaimLength)
      return invalid(fmt::format("audience must be 1 to {} characters", kMaxClaimLength));
    rule.audience = *req.audience;
  } else if (options_.ci_default_audience.empty()) {
    return invalid("audience is required: this server has no default audience (--ci-audience, usually its public "
                   "base URL)");
  }
  if (req.claims.empty() || req.claims.size() > kMaxRuleClaims)
    return invalid(fmt::format("claims must be an object of 1 to {} claims, e.g. {{\"repository_id\": \"123\"}}",
                               kMaxRuleClaims));
  json claims = json::object();
  bool binds_id = false;
  const auto& ids = ci_id_claims(issuer->kind);
  for (const auto& [claim, value] : req.claims) {
    if (claim.empty() || claim.size() > 100 || value.empty() || value.size() > kMaxClaimLength)
      return invalid(fmt::format("claims: each claim name must be 1 to 100 characters and each value 1 to {}",
                                 kMaxClaimLength));
    if (claims.contains(claim)) return invalid(fmt::format("claims: '{}' is given twice", claim.substr(0, 100)));
    claims[claim] = value;
    if (std::find(ids.begin(), ids.end(), claim) != ids.end() && value.find('*') == std::string::npos) binds_id = true;
  }
  if (!binds_id && !req.binds_only_names)
    return invalid(fmt::format("claims must bind {} or {} (ids that never change, without '*') for a {} issuer; "
                               "names can be renamed and taken over. To bind only names, say \"bindsOnlyNames\": true",
                               ids[0], ids[1], ci_issuer_kind_name(issuer->kind)));
  rule.claims_json = claims.dump();
  rule.binds_only_names = !binds_id;
  const std::int64_t minutes = req.lifetime_minutes.value_or(kDefaultCiTokenMinutes);
  if (minutes < 1 || minutes > kMaxCiTokenMinutes)
    return invalid(fmt::format("lifetimeMinutes must be an integer from 1 to {} (default {})", kMaxCiTokenMinutes,
                               kDefaultCiTokenMinutes));
  rule.lifetime_minutes = static_cast<int>(minutes);
  rule.created_at = clock_.now();
  rule.created_by = p.describe();
  auto event = audit(p, a.org.id, "repository.ci_trust.create", repo_path(a.org, a.repo->name),
                     fmt::format("issuer={} audience={} claims={} lifetimeMinutes={}", rule.issuer,
                                 rule.audience.empty() ? options_.ci_default_audience : rule.audience,
                                 rule.claims_json, rule.lifetime_minutes));
  auto created = timed("create_ci_trust_rule", [&] { return store_.create_ci_trust_rule(rule, event); });
  parts_->ci_rules.clear();
  return created;
}

Status Service::delete_ci_trust_rule(const Principal& p, const RepoRef& ref, Id rule_id) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(require_repo_admin(a));
  auto event = audit(p, a.org.id, "repository.ci_trust.delete", repo_path(a.org, a.repo->name),
                     fmt::format("rule={}", rule_id));
  auto deleted = timed("delete_ci_trust_rule", [&] { return store_.delete_ci_trust_rule(a.repo->id, rule_id, event); });
  parts_->ci_rules.clear();
  return deleted;
}

Status Service::charge_ci_exchange(const std::string& key, const RateLimitRule& rule, const std::string& what) {
  if (!rule.enabled()) return ok_status();
  const RateLimitDecision d = limiter_.check(key, rule);
  if (d.unavailable)
    return make_error(ErrorKind::unavailable, fmt::format("rate limit store unreachable: CI exchanges are refused "
                                                          "meanwhile (fail-closed); retry in {:.0f} s",
                                                          std::ceil(d.retry_after)));
  if (d.allowed) return ok_status();
  return make_error(ErrorKind::throttled, fmt::format("rate limit exceeded: {} allows {} CI token exchanges/s (burst "
                                                      "{}); retry in {:.1f} s",
                                                      what, rule.rate_per_second, rule.burst, d.retry_after));
}

Result<CiExchange> Service::exchange_ci_token(std::string_view jwt) {
  std::string issuer = "none";
  auto r = exchange_ci_token_unmetered(jwt, issuer);
  metrics::add("repotokens_ci_exchanges_total", fmt::format("issuer=\"{}\",result=\"{}\"", issuer, exchange_result(r)));
  return r;
}

Result<CiExchange> Service::exchange_ci_token_unmetered(std::string_view jwt, std::string& issuer_seen) {
  if (jwt.empty() || jwt.size() > kMaxJwtBytes)
    return refused(fmt::format("malformed: the JWT must be 1 to {} bytes", kMaxJwtBytes));
  RT_TRY(CiJwtParts parts, split_jwt(jwt));
  if (parts.alg != "RS256" && parts.alg != "ES256")
    return refused(fmt::format("signature: alg '{}' is not accepted; only RS256 and ES256 are",
                               parts.alg.substr(0, 20)));
  json payload = json::parse(parts.payload_json, nullptr, false);
  const std::string iss = payload.contains("iss") && payload["iss"].is_string() ? payload["iss"].get<std::string>() : "";
  const CiIssuer* issuer = find_ci_issuer(iss);
  if (!issuer || !parts_->ci_keys)
    return refused(fmt::format("unknown issuer: '{}' is not one of this server's CI issuers", iss.substr(0, 200)));
  issuer_seen = issuer->url;  // one of the configured few: a bounded label
  RT_TRY_STATUS(charge_ci_exchange("ci-iss:" + issuer->url, options_.ci_per_issuer, "issuer " + issuer->url));
  RT_TRY(CiPublicKey key, parts_->ci_keys->key(issuer->url, parts.kid));
  if (key.alg != parts.alg)
    return refused(fmt::format("signature: key '{}' is an {} key, the JWT says {}", key.kid.substr(0, 100), key.alg,
                               parts.alg));
  if (!verify_jwt_signature(jwt, key)) return refused("signature: the JWT's signature does not verify");

  // From here on the payload is the issuer's.
  const UnixTime now = clock_.now();
  RT_TRY(std::optional<UnixTime> exp, time_claim(payload, "exp"));
  RT_TRY(std::optional<UnixTime> nbf, time_claim(payload, "nbf"));
  RT_TRY(std::optional<UnixTime> iat, time_claim(payload, "iat"));
  if (!exp) return refused("malformed: the JWT has no exp claim");
  if (now > *exp + kLeewaySeconds)
    return refused(fmt::format("expired: the JWT expired at {}", format_rfc3339(*exp)));
  if (nbf && now + kLeewaySeconds < *nbf)
    return refused(fmt::format("not yet valid: the JWT is valid from {}", format_rfc3339(*nbf)));
  if (iat && now + kLeewaySeconds < *iat)
    return refused(fmt::format("not yet valid: the JWT was issued in the future ({})", format_rfc3339(*iat)));
  const std::string jti = payload.contains("jti") && payload["jti"].is_string() ? payload["jti"].get<std::string>() : "";
  if (jti.empty() || jti.size() > 200) return refused("malformed: the JWT has no jti, so a replay could not be refused");

  // The issuer's rules, indexed; read through a cache like tokens are, so a rule removed through another
  // node stops matching within --cache-ttl-ms (at once through this one).
  RT_TRY(std::shared_ptr<const CiRuleIndex> rules, cached(parts_->ci_rules, issuer->url, [&]() -> Result<std::shared_ptr<const CiRuleIndex>> {
           RT_TRY(std::vector<CiTrustRule> found, store_.find_ci_trust_rules(issuer->url));
           return std::make_shared<const CiRuleIndex>(issuer->kind, std::move(found), options_.ci_default_audience);
         }, "find_ci_trust_rules"));
  const std::map<std::string, std::string> claims = ci_claims_as_text(parts.payload_json);
  const CiRuleIndex::Match found = rules->match(claims, token_audiences(payload));
  const CiTrustRule* matched = found.rule;
  if (!rules->empty() && !found.audience_seen)
    return refused("wrong audience: no trust rule of this issuer expects the JWT's aud; request the ID token with "
                   "the audience the rule names");
  // Word for word the same whether a repository exists or not.
  if (!matched) return refused("no trust rule matched the JWT's claims");
  RT_TRY_STATUS(charge_ci_exchange(fmt::format("ci-repo:{}", matched->repository_id), options_.ci_per_repository,
                                   "each repository"));

  RT_TRY(bool fresh, timed("record_ci_jti", [&] { return store_.record_ci_jti(issuer->url, jti, *exp + kLeewaySeconds, now); }));
  if (!fresh) return refused("replayed: this JWT was exchanged before; request a new ID token");

  RT_TRY(Repository repo, timed("get_repository_by_id", [&] { return store_.get_repository_by_id(matched->repository_id); }));
  RT_TRY(Organization org, timed("get_organization_by_id", [&] { return store_.get_organization_by_id(repo.org_id); }));
  NewRepositoryToken t;
  t.repository_id = repo.id;
  t.name = ci_token_name(claims, jti);
  t.created_at = now;
  t.expires_at = now + static_cast<UnixTime>(matched->lifetime_minutes) * 60;
  t.ci_only = true;
  CiExchange out;
  out.issued.secret = generate_token(TokenKind::repository, random_);
  t.hash = hasher_.hash_token(out.issued.secret);
  auto claim = [&](const char* name) {
    auto it = claims.find(name);
    return it == claims.end() ? std::string() : it->second.substr(0, 200);
  };
  AuditEvent event;
  event.org_id = org.id;
  event.at = now;
  event.actor = "ci:" + issuer->url;
  event.action = "repository.token.exchange";
  event.target = repo_path(org, repo.name);
  event.details = fmt::format("name={} expiresAt={} rule={} sha={} run_id={} ref={} workflow_ref={}", t.name,
                              format_rfc3339(t.expires_at), matched->id, claim("sha"), claim("run_id"), claim("ref"),
                              claim("workflow_ref"));
  RT_TRY(out.issued.token, timed("create_repository_token", [&] {
           return store_.create_repository_token(t, now, kMaxLiveTokensPerRepository, event);
         }));
  out.repository = std::move(repo);
  metrics::add("repotokens_tokens_created_total", "kind=\"repository\"");
  return out;
}

}  // namespace rt
