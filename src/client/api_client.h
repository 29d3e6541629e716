// Typed calls for the API.md endpoints the CLI uses, over one HttpTransport per worker, with the shared
// Pacer in front of every request and the one RetryPolicy behind it. Errors come back as rt::Error whose
// message is the server's own `message` (or a one-line transport failure), never a JSON dump or a secret.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "client/http_transport.h"
#include "client/pacer.h"
#include "client/retry_policy.h"
#include "core/result.h"
#include "core/time.h"

namespace rt::client {

using Id = std::int64_t;

struct UserInfo {
  Id id = 0;
  std::string name;
  bool is_admin = false;
};

struct OrganizationInfo {
  std::string provider;
  std::string name;
  std::string role;  // "admin" | "member" | "" when the server did not say
};

// A repository as listed; only the fields the CLI needs (servers may send many more).
struct RepositorySummary {
  std::string name;
  std::string full_path;
  std::string visibility;
  std::string permission;
  std::string remote_identifier;  // the provider's id of the repository (Codacy: GitHub's repository id); may be ""
};

// A repository token as listed. Codacy's list carries no name and no dates but may carry the secret:
// `listed_secret` is filled only when the caller asks for it (to adopt a token whose create reply was
// lost) and is never printed.
struct RepositoryTokenInfo {
  Id id = 0;
  std::string name;  // "" when the server keeps no names (Codacy)
  std::string listed_secret;
  std::optional<UnixTime> created_at;
  std::optional<UnixTime> expires_at;
  std::optional<UnixTime> last_used_at;
  bool live_at(UnixTime now) const { return !expires_at || *expires_at > now; }
};

// What a create returns: the only time the secret exists outside the server.
struct CreatedToken {
  Id id = 0;
  std::string secret;
  std::string name;
  std::optional<UnixTime> expires_at;
};

// One coverage upload as listCoverageReports shows it. repotokensd sends every field; Codacy sends the
// commit, language, status (Pending, Processed, ...) and time but no file count or percentage.
struct CoverageUploadInfo {
  std::string commit;
  std::string language;
  std::string status;   // as the server names it: partial, final, failed (repotokensd); Processed, ... (Codacy)
  std::string reason;   // why a failed upload was refused
  std::optional<std::int64_t> files;
  std::optional<double> coverage;  // percent
  std::optional<UnixTime> at;
};

// The uploads of repotokensd's upload log ({"data": [...]}) or of Codacy's listCoverageReports
// ({"data": {"hasCoverageOverview", "lastReports": [...]}}), at most `limit`. `internal` for any other shape.
Result<std::vector<CoverageUploadInfo>> parse_coverage_reports(const std::string& body, int limit);

// A repository's CI trust rule (API.md "Secretless CI"): which CI jobs may exchange their OIDC token for a
// short-lived token of that repository.
struct CiTrustRuleInfo {
  Id id = 0;
  std::string issuer;
  std::string audience;  // as the server reports it (its default filled in)
  std::vector<std::pair<std::string, std::string>> claims;  // name -> value or glob, in the server's order
  int lifetime_minutes = 0;
  bool binds_only_names = false;
  std::optional<UnixTime> created_at;
  std::string created_by;
};

// What `trust add` asks for; an absent audience or lifetime is the server's default.
struct NewCiTrustRule {
  std::string issuer;
  std::optional<std::string> audience;
  std::vector<std::pair<std::string, std::string>> claims;
  std::optional<int> lifetime_minutes;
  bool binds_only_names = false;
};

// The answer to a CI exchange: a repository token that lives minutes.
struct CiExchangedToken {
  std::string secret;  // never printed by the client
  std::string name;
  std::optional<UnixTime> expires_at;
  std::string provider, owner, repository;
};

// Counters shared by every client of a run (for progress lines and benchmarks).
struct ClientStats {
  std::atomic<std::uint64_t> requests{0};   // responses received, any status
  std::atomic<std::uint64_t> refused{0};    // 429/503/504 responses
  std::atomic<std::uint64_t> retries{0};    // attempts beyond the first
  std::atomic<std::uint64_t> transport_errors{0};
  RetryLog retry_log;  // the retries by cause, and who is told of each (progress lines)
};

// Makes the transport of one worker (libcurl by default; canned answers in unit tests).
using TransportFactory = std::function<std::unique_ptr<Transport>(const ConnectionSettings&)>;

class ApiClient {
 public:
  // `settings`, `pacer` and `stats` are shared by the workers of a run and outlive the client.
  ApiClient(const ConnectionSettings& settings, Pacer& pacer, ClientStats& stats);
  ApiClient(const ConnectionSettings& settings, Pacer& pacer, ClientStats& stats, std::unique_ptr<Transport> transport);

  Result<UserInfo> get_user();
  Result<OrganizationInfo> get_organization(const std::string& provider, const std::string& org);

  // One page of an organization's repositories, and the cursor of the next (nullopt on the last page).
  struct RepositoryPage {
    std::vector<RepositorySummary> items;
    std::optional<std::string> cursor;
  };
  Result<RepositoryPage> list_repositories_page(const std::string& provider, const std::string& org,
                                                const std::optional<std::string>& cursor, const std::string& search,
                                                int limit = 100);
  // Walks every page, calling `visit` per repository in server order.
  Status for_each_repository(const std::string& provider, const std::string& org, const std::string& search,
                             const std::function<void(const RepositorySummary&)>& visit);

  // All of a repository's tokens (every page), newest first as the server sends them. Secrets a list
  // carries are dropped unless `keep_listed_secrets`.
  Result<std::vector<RepositoryTokenInfo>> list_repository_tokens(const std::string& provider, const std::string& org,
                                                                  const std::string& repo,
                                                                  bool keep_listed_secrets = false);
  // Never repeated blindly: when the request may have been carried out without its reply arriving (a
  // connection lost after sending, 502, 504) the error is of kind `unavailable` with `uncertain()` true,
  // and the caller decides (provision lists the tokens to see whether one appeared).
  Result<CreatedToken> create_repository_token(const std::string& provider, const std::string& org,
                                               const std::string& repo, const std::optional<std::string>& name,
                                               std::optional<UnixTime> expires_at);
  // A 404 is `not_found` (no such token in that repository), except when an earlier attempt of this same
  // call may have gone through (its reply was lost): then the token is gone and that is success.
  Status delete_repository_token(const std::string& provider, const std::string& org, const std::string& repo, Id id);
  // True when the last failed call may have been carried out by the server (see create_repository_token).
  bool uncertain() const { return uncertain_; }

  // The repository's most recent coverage uploads (at most `limit`), newest first: repotokensd's upload log
  // (GET .../coverage/uploads), or, from a server without it (Codacy), listCoverageReports.
  Result<std::vector<CoverageUploadInfo>> list_coverage_reports(const std::string& provider, const std::string& org,
                                                                const std::string& repo, int limit);

  // repotokensd administration (API.md "repotokens extensions") and Codacy's addOrganization/addRepository.
  Result<OrganizationInfo> add_organization(const std::string& provider, const std::string& name);
  // `remote_identifier`: repotokensd's extension (the provider's id of the repository); empty = not sent.
  Result<RepositorySummary> add_repository(const std::string& provider, const std::string& org,
                                           const std::string& name, const std::string& visibility,
                                           const std::string& remote_identifier = {});
  Result<UserInfo> create_user(const std::string& name, const std::string& email, bool is_admin);
  Result<CreatedToken> issue_user_token(Id user_id, std::optional<UnixTime> expires_at);
  Status set_member_role(const std::string& provider, const std::string& org, Id user_id, const std::string& role);
  Status grant_repository_permission(const std::string& provider, const std::string& org, const std::string& repo,
                                     Id user_id, const std::string& permission);

  // POST /tokens/revoke (repotokensd, API.md "Leaked tokens"): reports a leaked secret, which the server
  // revokes when it is one of its tokens. The answer is the same (204) whether or not it matched.
  Status report_leaked_token(const std::string& secret, const std::string& location = {});

  // Secretless CI (repotokensd, API.md "Secretless CI"). The exchange POST /ci/token sends no credential
  // of its own (the signed JWT is one) and is never repeated once it may have reached the server: a JWT's
  // jti is accepted once, so a blind retry would only be refused as "replayed". A refusal is
  // `unauthorized` with the server's reason ("wrong audience: ...").
  Result<CiExchangedToken> exchange_ci_token(const std::string& jwt);
  Result<std::vector<CiTrustRuleInfo>> list_ci_trust_rules(const std::string& provider, const std::string& org,
                                                           const std::string& repo);
  Result<CiTrustRuleInfo> add_ci_trust_rule(const std::string& provider, const std::string& org,
                                            const std::string& repo, const NewCiTrustRule& rule);
  Status delete_ci_trust_rule(const std::string& provider, const std::string& org, const std::string& repo, Id id);

  // The raw call with pacing and retries, for the typed calls above. `path` is under /api/v3. With
  // `repeatable` false, an attempt that may have reached the server is not repeated (see uncertain()).
  Result<HttpResponse> call(const std::string& method, const std::string& path, const std::string& json_body = {},
                            bool repeatable = true);

 private:
  std::string repo_path(const std::string& provider, const std::string& org, const std::string& repo) const;

  const ConnectionSettings& settings_;
  Pacer& pacer_;
  ClientStats& stats_;
  std::unique_ptr<Transport> transport_;
  RetryPolicy retry_;
  bool uncertain_ = false;
  std::mt19937_64 random_;
};

}  // namespace rt::client
