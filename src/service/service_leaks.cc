// Leaked tokens revoked by whoever finds them (API.md "Leaked tokens"): the format and checksum check
// before any lookup, the revocation through the same store calls and cache invalidation as a normal
// revocation (so the caches' revocation bound holds on every node), the `token.leaked` audit entries, and
// the admission of the two scanner channels (GitLab's pre-shared token, GitHub's signature).
#include <map>

#include <fmt/format.h>

#include "leaks/github_keys.h"
#include "service/internal.h"

namespace rt {

namespace {

void count_report(LeakChannel channel, const char* outcome) {
  // Only malformed vs well-formed: /metrics is unauthenticated, and a count of matches would tell a
  // reporter whether its secret was ours.
  metrics::add("repotokens_leak_reports_total",
               fmt::format("channel=\"{}\",format=\"{}\"", leak_channel_name(channel), outcome));
}

// Reporter-supplied text for the audit entry: at most 300 bytes, control characters blanked, and anything
// shaped like one of our tokens redacted (a URL may carry the very secret it points at).
std::string reported_text(std::string_view text) {
  std::string out(text.substr(0, 300));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (auto redacted = redact_tokens(out)) out = std::move(*redacted);
  return out;
}

std::string report_details(std::string_view what, const LeakReport& r) {
  std::string details(what);
  if (!r.source.empty()) details += " source=" + reported_text(r.source);
  if (!r.location.empty()) details += " location=" + reported_text(r.location);
  return details;
}

AuditEvent leaked_event(LeakChannel channel, UnixTime now, std::optional<Id> org_id, std::string target,
                        std::string details) {
  AuditEvent e;
  e.org_id = org_id;
  e.at = now;
  e.actor = fmt::format("leak-report:{}", leak_channel_name(channel));
  e.action = "token.leaked";
  e.target = std::move(target);
  e.details = std::move(details);
  return e;
}

// An account token: deleted like DELETE /user/tokens/{id}; audited in every organization its owner belongs
// to (each of them learns that a member's credential leaked), or instance-wide when they belong to none.
Result<LeakVerdict> revoke_account_token(Store& store, const SecretHash& hash, const LeakReport& r,
                                         LeakChannel channel, UnixTime now) {
  auto found = timed("find_account_token", [&] { return store.find_account_token(hash); });
  if (!found) {
    if (found.error().kind == ErrorKind::not_found) return LeakVerdict::unknown;
    return found.error();
  }
  auto deleted = timed("delete_account_token", [&] { return store.delete_account_token(found->user.id, found->token.id); });
  if (!deleted) {
    if (deleted.error().kind == ErrorKind::not_found) return LeakVerdict::unknown;  // revoked meanwhile
    return deleted.error();
  }
  metrics::add("repotokens_tokens_revoked_total", "kind=\"account\"");
  const std::string target = fmt::format("user:{}#token:{}", found->user.name, found->token.id);
  const std::string details = report_details(fmt::format("account token {} revoked", found->token.id), r);
  bool any = false;
  std::optional<Id> after;
  while (true) {
    RT_TRY(Page<OrganizationMembership> page, timed("list_organizations", [&] {
             return store.list_organizations(found->user.id, false, std::nullopt, after, 100);
           }));
    for (const OrganizationMembership& m : page.items) {
      AuditEvent event = leaked_event(channel, now, m.organization.id, target, details);
      // Named, so that the store announces it to the organization's webhooks with the audit entry.
      event.account_token = AuditEvent::AccountTokenSubject{
          .token_id = found->token.id, .owner = found->user.name, .expires_at = found->token.expires_at};
      RT_TRY_STATUS(timed("append_audit", [&] { return store.append_audit(event); }));
      any = true;
      after = m.organization.id;
    }
    if (!page.more || page.items.empty()) break;
  }
  if (!any) RT_TRY_STATUS(store.append_audit(leaked_event(channel, now, std::nullopt, target, details)));
  return LeakVerdict::revoked;
}

// A repository token: deleted like DELETE .../tokens/{id}, with its audit entry in the same transaction.
Result<LeakVerdict> revoke_repository_token(Store& store, const SecretHash& hash, const LeakReport& r,
                                            LeakChannel channel, UnixTime now) {
  auto found = timed("find_repository_token", [&] { return store.find_repository_token(hash); });
  if (!found) {
    if (found.error().kind == ErrorKind::not_found) return LeakVerdict::unknown;
    return found.error();
  }
  RT_TRY(Repository repo, timed("get_repository_by_id", [&] { return store.get_repository_by_id(found->repository_id); }));
  const Id ids[] = {found->id};
  auto event = leaked_event(channel, now, repo.org_id,
                            fmt::format("{}/{}/{}#token:{}", provider_code(repo.provider), repo.owner, repo.name, found->id),
                            report_details(fmt::format("repository token {} ({}) revoked", found->id, found->name), r));
  RT_TRY(int deleted, timed("delete_repository_tokens", [&] { return store.delete_repository_tokens(repo.id, ids, event); }));
  if (deleted == 0) return LeakVerdict::unknown;  // revoked meanwhile
  metrics::add("repotokens_tokens_revoked_total", "kind=\"repository\"");
  return LeakVerdict::revoked;
}

}  // namespace

Result<std::vector<LeakVerdict>> Service::revoke_leaked(LeakChannel channel, std::span<const LeakReport> reports) {
  if (reports.size() > kMaxLeakBatch)
    return make_error(ErrorKind::invalid, fmt::format("at most {} tokens per report; split the batch", kMaxLeakBatch));
  std::vector<LeakVerdict> verdicts;
  verdicts.reserve(reports.size());
  std::map<SecretHash, LeakVerdict> seen;  // a secret reported twice in one batch gets one verdict
  bool changed = false;
  Status failed = ok_status();
  const UnixTime now = clock_.now();
  for (const LeakReport& r : reports) {
    auto kind = check_token_format(r.token);
    if (!kind) {
      count_report(channel, "malformed");
      verdicts.push_back(LeakVerdict::malformed);
      continue;
    }
    count_report(channel, "well-formed");
    const SecretHash hash = hasher_.hash_token(r.token);
    if (auto it = seen.find(hash); it != seen.end()) {
      verdicts.push_back(it->second);
      continue;
    }
    auto verdict = *kind == TokenKind::account ? revoke_account_token(store_, hash, r, channel, now)
                                               : revoke_repository_token(store_, hash, r, channel, now);
    if (!verdict) {
      failed = verdict.error();
      break;
    }
    changed = changed || *verdict == LeakVerdict::revoked;
    seen.emplace(hash, *verdict);
    verdicts.push_back(*verdict);
  }
  if (changed) invalidate_caches();  // as after any revocation: refused here at once, elsewhere within the TTL
  if (!failed) return failed.error();
  return verdicts;
}

Status Service::check_gitlab_caller(std::optional<std::string_view> authorization) const {
  if (!options_.gitlab_revocation_token)
    return make_error(ErrorKind::not_found,
                      "the GitLab token revocation API is off on this server: set --gitlab-revocation-token "
                      "(REPOTOKENS_GITLAB_REVOCATION_TOKEN, or gitlab_revocation_token in the config file) to enable it");
  // Compared as keyed hashes, in constant time: neither the time taken nor a length check tells a guesser
  // how close it came.
  const SecretHash expected = hasher_.hash_token(*options_.gitlab_revocation_token);
  if (!authorization || !constant_time_equal(hasher_.hash_token(*authorization), expected))
    return make_error(ErrorKind::unauthorized,
                      "missing or wrong Authorization header: send the pre-shared token configured on this server "
                      "as --gitlab-revocation-token");
  return ok_status();
}

Status Service::check_github_caller(std::optional<std::string_view> key_identifier,
                                    std::optional<std::string_view> signature, std::string_view body) {
  if (!options_.github_keys)
    return make_error(ErrorKind::not_found,
                      "GitHub secret scanning is off on this server: set --github-secret-scanning-keys "
                      "(REPOTOKENS_GITHUB_SECRET_SCANNING_KEYS, or github_secret_scanning_keys in the config file) "
                      "to a file or an https:// URL of GitHub's key set "
                      "(https://api.github.com/meta/public_keys/secret_scanning) to enable it");
  const Error refused = make_error(ErrorKind::unauthorized,
                                   "this endpoint accepts only alerts signed by GitHub secret scanning "
                                   "(Github-Public-Key-Identifier and Github-Public-Key-Signature headers)");
  if (!key_identifier || !signature || key_identifier->empty() || signature->empty()) return refused;
  const GitHubKeySet::Check check = options_.github_keys->verify(*key_identifier, *signature, body);
  if (check == GitHubKeySet::Check::no_key_set)
    // Nothing about the caller: the server has not been able to read GitHub's keys yet (GitHub retries).
    return make_error(ErrorKind::unavailable,
                      fmt::format("GitHub secret scanning's key set could not be fetched yet, so no alert can be "
                                  "verified; the server tries again when an alert arrives, at most every {} s: "
                                  "retry later",
                                  options_.github_keys->refresh_cooldown_seconds()));
  if (check != GitHubKeySet::Check::valid) {
    metrics::add("repotokens_auth_failures_total", "reason=\"github-signature\"");
    return refused;
  }
  return ok_status();
}

}  // namespace rt
