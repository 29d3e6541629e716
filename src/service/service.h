// The rules of repotokens: who may do what, how tokens are issued, named, limited and expired, how lists
// are paged. Knows nothing of HTTP or SQL: the server turns requests into these calls and Results into
// responses; the store persists. Every call is blocking (it may touch the store) and thread-safe: the
// server runs it on its blocking pool, never on the event loop.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/cursor.h"
#include "core/model.h"
#include "core/result.h"
#include "core/secret.h"
#include "core/time.h"
#include "ratelimit/limiter.h"
#include "ci/oidc.h"
#include "service/console.h"
#include "leaks/leak_report.h"
#include "store/coverage_store.h"
#include "store/store.h"

namespace rt {

class GitHubKeys;  // leaks/github_keys.h
struct Access;    // service/access.h: a resolved organization or repository and the caller's rights on it

// Credentials as the request carried them (any header spelling already folded by the server).
struct Credentials {
  std::optional<std::string> api_token;      // header api-token (or api_token)
  std::optional<std::string> project_token;  // header project-token (or project_token)
  std::string client_address;                // peer IP address, for per-address limits
  // The web console's session cookie; the server sets it only when no token header was sent.
  std::optional<std::string> console_session;
};

// Who is calling, once authenticated. `anonymous` (no credential at all) is admitted only on the routes
// that read Public repositories (API.md: "the read operations on a repository whose visibility is Public
// need no token"); every other call refuses it as unauthorized.
struct Principal {
  enum class Kind { user, repository_token, anonymous };
  Kind kind = Kind::user;
  User user;                        // kind == user
  Id account_token_id = 0;          // kind == user
  UnixTime console_session_ends = 0;  // kind == user through a console session: its absolute end
  RepositoryToken repository_token; // kind == repository_token
  // "user:<name>", "repository-token:<id>" or "anonymous": for logs and the audit log; never a secret.
  std::string describe() const;
};

// The outcome of admitting a request: who it is (when authentication succeeded) and the rate-limit state
// that the server reports in headers on every response.
struct Admission {
  std::optional<Principal> principal;
  std::optional<Error> error;            // unauthorized, expired, or throttled; set when principal is not
  const RateLimitRule* rule = nullptr;   // the rule that applied, null when limits are off
  RateLimitDecision decision;
};

// ?cursor=&limit= as received; validated by make_page_request.
struct PageRequest {
  std::optional<std::string> cursor;
  int limit = 100;
};
// `limit` must be an integer 1..1000 (default 100); anything else is `invalid` with a message that says so.
Result<PageRequest> make_page_request(std::optional<std::string> cursor, std::optional<std::string> limit);

template <class T>
struct ListPage {
  std::vector<T> items;
  std::int64_t total = 0;
  int limit = 100;
  std::optional<std::string> cursor;  // absent on the last page
};

// Path parameters, as percent-decoded by the server. The provider is validated here (400 naming the codes).
struct OrgRef {
  std::string provider;
  std::string org;
};
struct RepoRef {
  OrgRef org;
  std::string repo;
};

struct IssuedAccountToken {
  AccountToken token;
  std::string secret;  // shown once, in the create response; never stored, logged or listed
};
struct IssuedRepositoryToken {
  RepositoryToken token;
  std::string secret;
};

struct AddOrganizationRequest {
  std::string provider;
  std::string name;
  std::optional<std::string> remote_identifier;
  std::optional<std::string> type;  // "Organization" | "Account"
};

struct AddRepositoryRequest {
  std::string provider;
  std::string full_path;  // "org/name"
  std::optional<std::string> visibility;
  // The provider's own id of the repository (a GitHub repository id, what `trust add --match` binds);
  // default: full_path.
  std::optional<std::string> remote_identifier;
  std::vector<std::string> languages;
};

struct RepositoryListRequest {
  std::string search;
  std::string filter;     // "" | a visibility name ("Public", "Private", "LoginPublic")
  std::string languages;  // comma-separated; a repository matches when it has any of them
};

struct CreateRepositoryTokenRequest {
  std::optional<std::string> name;  // generated when absent
  std::optional<std::string> expires_at;  // RFC 3339; policy default when absent
};

// A trust rule as posted (API.md "Secretless CI"); Service::add_ci_trust_rule validates it.
struct CiTrustRuleRequest {
  std::string issuer;
  std::optional<std::string> audience;
  std::vector<std::pair<std::string, std::string>> claims;  // claim -> value or glob, in the posted order
  std::optional<std::int64_t> lifetime_minutes;
  bool binds_only_names = false;
};

// A successful exchange: the issued token (its secret shown once) and the repository it is for.
struct CiExchange {
  IssuedRepositoryToken issued;
  Repository repository;
};

struct NewUserRequest {
  std::string name;
  std::optional<std::string> email;
  bool is_admin = false;
};

// Which repository, commit and language a legacy /2.0 coverage call names (service/coverage.cc).
struct CoverageTarget {
  // false: the project-token routes (/2.0/coverage/..., /2.0/commit/...), where the token decides the
  // repository. true: the by-name routes; `provider` is absent in the oldest, provider-less form.
  bool named = false;
  std::optional<std::string> provider;
  std::string org;
  std::string repo;
  std::string commit;
  std::string language;  // empty for the final notification
};

// One language's report of a commit, and the commit's totals over all languages.
struct CommitCoverageReport {
  std::string language;
  CoverageStatus status = CoverageStatus::partial;
  std::int64_t files = 0, covered = 0, coverable = 0;
  UnixTime updated_at = 0;
};
struct CommitCoverageFile {
  std::string language;
  FileCoverageSummary file;
};
// Coverage totals over the final ("processed", in Codacy's words) reports of a commit only: what getCommit
// and getRepositoryWithAnalysis show. `reports` == 0 when no report of the commit is final yet.
struct ProcessedCoverage {
  int reports = 0;
  std::int64_t files = 0, uncovered_files = 0, covered = 0, coverable = 0;
};
struct CommitCoverage {
  std::string commit;
  Id id = 0;              // the id of the commit's first report: stable, unique within the server
  UnixTime first_seen = 0;  // when the commit's first report arrived (repotokensd sees no git history)
  std::int64_t covered = 0, coverable = 0;
  bool final = false;  // every language's report is final
  std::vector<CommitCoverageReport> reports;
  std::vector<CommitCoverageFile> files;
  ProcessedCoverage processed;
};

// listCoverageReports (Codacy's shape): accepted uploads only, newest first, and whether the repository has
// any final coverage at all (Codacy's hasCoverageOverview).
struct CoverageStatusView {
  bool has_coverage = false;
  std::vector<CoverageUpload> uploads;
};

// getRepositoryWithAnalysis: the repository and the coverage of its commit whose final report changed
// last (repotokensd knows no branches), when there is one.
struct RepositoryCoverage {
  RepositoryView repository;
  std::optional<CommitCoverage> latest;
};

// One audit-log entry as Codacy shows it: the event, the actor's e-mail ("" when the actor has none or is
// a repository token), the actor's organization role as it is now (not as it was then; nullopt when the
// actor is no member), and the repository the event is about ("" when none).
struct AuditEntry {
  AuditEvent event;
  std::string actor_email;
  std::optional<OrgRole> actor_role;
  std::string repository;
};

// removePeopleFromOrganization: per e-mail, removed or why not.
struct PeopleRemoval {
  std::vector<std::string> removed;
  std::vector<std::pair<std::string, std::string>> failed;  // (email, reason)
};

struct ServiceOptions {
  RateLimitRule per_token{"per-token", 100, 1000};
  RateLimitRule per_address{"per-address", 20, 100};
  int last_use_flush_ms = 1000;  // how often batched lastUsedAt updates are written
  // How long a token, organization or repository read from the store is trusted without reading it again:
  // the bound on how late a revocation made through another node takes effect here. 0 turns caching off.
  int cache_ttl_ms = 1000;
  ConsoleSessionPolicy console;
  // Leak reports from secret scanners (service/service_leaks.cc): the GitLab token revocation API's pre-shared
  // token, and GitHub secret scanning's key set. Unset: that channel answers not_found saying how to enable it.
  std::optional<std::string> gitlab_revocation_token;
  std::shared_ptr<GitHubKeys> github_keys;
  // Secretless CI: the issuers whose JWTs may be exchanged, the audience a rule without one expects
  // (empty: every rule must name its audience), and how discovery documents and JWKS are fetched.
  std::vector<CiIssuer> ci_issuers;
  std::string ci_default_audience;
  CiFetcher ci_fetcher;
  int ci_key_refetch_seconds = 60;
  // Exchanges per issuer (checked before the signature, so forged tokens cannot buy verification CPU) and
  // per repository (checked once a rule matched, before anything is recorded).
  RateLimitRule ci_per_issuer{"ci-per-issuer", 200, 2000};
  RateLimitRule ci_per_repository{"ci-per-repository", 2, 100};
  // CI-only tokens are deleted this long after they expired (they stay listed meanwhile), looked for every
  // ci_purge_interval_seconds by the background thread while CI issuers are configured.
  int ci_token_retention_seconds = 3600;
  int ci_purge_interval_seconds = 60;
};

// POST /organizations/{provider}/{org}/webhooks (service/service_webhooks.cc).
struct CreateWebhookRequest {
  std::string url;     // http:// or https://, with a host
  std::string secret;  // at least kMinWebhookSecretLength characters; sealed before it is stored
  std::vector<std::string> events;  // 1 or more of kWebhookEventNames, no repeats
};
inline constexpr size_t kMinWebhookSecretLength = 16;
inline constexpr size_t kMaxWebhookUrlLength = 2048;

class Service {
 public:
  Service(Store& store, const SecretHasher& hasher, const Clock& clock, RandomSource& random, Limiter& limiter,
          ServiceOptions options);
  ~Service();  // flushes pending lastUsedAt updates
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Authenticates the credentials and counts the request against the right rate limit: the principal's
  // bucket on success, the client address's bucket when no credential was given or it was refused (which
  // also slows token guessing). A refused credential yields `unauthorized` (unknown, revoked, malformed)
  // or `expired`; an exhausted bucket yields `throttled`.
  // With `anonymous_allowed` (the routes that read Public repositories), a request carrying no credential
  // at all is admitted as the anonymous principal, counted against its address's bucket; a credential
  // that is present but refused is still refused.
  Admission admit(const Credentials& credentials, bool anonymous_allowed = false);

  // Non-blocking versions of the hottest path, for the event loop: they answer from memory alone (the
  // caches and an in-process limiter) and return nullopt whenever the store, or a shared limiter, would
  // have to be asked; the caller then uses the blocking calls on its pool. A request admitted here must
  // not be admitted again (it was counted against its rate limit already).
  std::optional<Admission> try_admit_from_memory(const Credentials& credentials);
  std::optional<Result<RepositoryView>> try_get_repository_from_memory(const Principal& p, const RepoRef& repo);

  // --- the caller's own account ---------------------------------------------------------------------
  Result<User> get_user(const Principal& p);
  Result<ListPage<AccountToken>> list_user_tokens(const Principal& p, const PageRequest& page);
  Result<IssuedAccountToken> create_user_token(const Principal& p, std::optional<std::string> expires_at);
  Status delete_user_token(const Principal& p, Id token_id);
  // provider nullopt: all providers.
  Result<ListPage<OrganizationMembership>> list_user_organizations(const Principal& p,
                                                                   std::optional<std::string> provider,
                                                                   const PageRequest& page);

  // --- organizations ----------------------------------------------------------------------------------
  Result<OrganizationMembership> get_organization(const Principal& p, const OrgRef& org);
  Result<Organization> add_organization(const Principal& p, const AddOrganizationRequest& req);
  Result<ListPage<Member>> list_people(const Principal& p, const OrgRef& org, const std::string& search,
                                       const PageRequest& page);
  Status set_member_role(const Principal& p, const OrgRef& org, Id user_id, const std::string& role);
  Status remove_member(const Principal& p, const OrgRef& org, Id user_id);
  // addPeopleToOrganization (org admin): every address must name exactly one user (compared without ASCII
  // case), or nothing changes and the answer is `invalid` naming the addresses; those users who are not
  // members yet become members (existing members keep their role). At most 100 addresses.
  Status add_people(const Principal& p, const OrgRef& org, const std::vector<std::string>& emails);
  // removePeopleFromOrganization (org admin): removes the member each address names; an address that
  // names no member is listed in `failed` with the reason. `invalid` (nothing removed) for malformed input.
  Result<PeopleRemoval> remove_people(const Principal& p, const OrgRef& org, const std::vector<std::string>& emails);
  Result<TokenPolicy> get_token_policy(const Principal& p, const OrgRef& org);
  // Each lifetime 1..365 days, default <= max.
  Result<TokenPolicy> set_token_policy(const Principal& p, const OrgRef& org, const TokenPolicy& policy);
  // from/to: Unix epoch milliseconds (Codacy's form) or RFC 3339, optional; both inclusive.
  Result<ListPage<AuditEntry>> list_audit(const Principal& p, const OrgRef& org, std::optional<std::string> from,
                                          std::optional<std::string> to, const PageRequest& page);

  // --- repositories ------------------------------------------------------------------------------------
  // Anonymous: the organization's Public repositories only, and not_found for an organization that has
  // none (so that an organization with only private repositories does not show it exists).
  Result<ListPage<RepositoryView>> list_repositories(const Principal& p, const OrgRef& org,
                                                     const RepositoryListRequest& req, const PageRequest& page);
  // Also allowed for a project token of that very repository, and anonymously for a Public one.
  Result<RepositoryView> get_repository(const Principal& p, const RepoRef& repo);
  Result<Repository> add_repository(const Principal& p, const AddRepositoryRequest& req);
  Status delete_repository(const Principal& p, const RepoRef& repo);
  Status set_repository_permission(const Principal& p, const RepoRef& repo, Id user_id,
                                   const std::string& permission);

  // --- repository tokens (repository admin) ----------------------------------------------------------
  Result<ListPage<RepositoryToken>> list_repository_tokens(const Principal& p, const RepoRef& repo,
                                                           const PageRequest& page);
  Result<IssuedRepositoryToken> create_repository_token(const Principal& p, const RepoRef& repo,
                                                        const CreateRepositoryTokenRequest& req);
  Status delete_repository_token(const Principal& p, const RepoRef& repo, Id token_id);
  Status delete_repository_tokens(const Principal& p, const RepoRef& repo, const std::vector<Id>& ids);

  // --- instance administration (repotokens extensions) -----------------------------------------------
  Result<User> create_user(const Principal& p, const NewUserRequest& req);
  Result<IssuedAccountToken> issue_user_token(const Principal& p, Id user_id, std::optional<std::string> expires_at);
  // Offline bootstrap (repotokensd admin create-user): no caller to check.
  Result<IssuedAccountToken> bootstrap_user(const NewUserRequest& req);

  // --- coverage (service/coverage.cc) ---------------------------------------------------------------
  // A project token uploads to its own repository only; an account token needs write permission on the
  // named one. A malformed body is `invalid` (saying what is wrong), logged as a failed upload, and stores
  // no coverage.
  Result<CoverageUpload> upload_coverage(const Principal& p, const CoverageTarget& target, std::string_view body,
                                         bool partial);
  // coverageFinal: the commit's partial reports become final. Returns how many reports.
  Result<int> finish_coverage(const Principal& p, const CoverageTarget& target);
  // The reads below need read access, or that repository's token, or nothing for a Public repository.
  // listCoverageReports: accepted uploads, newest first; `limit` 1..1000, default 100.
  Result<CoverageStatusView> coverage_status(const Principal& p, const RepoRef& repo, std::optional<std::string> limit);
  // The upload log (a repotokens extension): every upload, refused ones included, newest first, paged.
  Result<ListPage<CoverageUpload>> list_coverage_uploads(const Principal& p, const RepoRef& repo,
                                                         const PageRequest& page);
  // A commit's coverage: per language and per file, and the processed totals. not_found when no report of
  // the commit was uploaded.
  Result<CommitCoverage> commit_coverage(const Principal& p, const RepoRef& repo, const std::string& commit);
  // getRepositoryWithAnalysis.
  Result<RepositoryCoverage> repository_coverage(const Principal& p, const RepoRef& repo);

  // --- the web console (service/console.cc) --------------------------------------------------------
  // Signs in: `c.api_token` is the posted account token, admitted (and rate limited) like any request.
  // The session lives until sign-out, `console.idle_seconds` without use, `console.absolute_seconds`
  // after sign-in, or the revocation of that token, whichever comes first; on every node.
  Result<OpenedConsoleSession> open_console_session(const Credentials& c);
  // Signs out. Harmless when the session has already ended.
  Status close_console_session(std::string_view session_id);
  // The CSRF token of a session (a MAC of its id under the server key), and its constant-time check.
  std::string console_csrf_token(std::string_view session_id) const;
  bool check_console_csrf(std::string_view session_id, std::string_view presented) const;
  // The repository list with each repository's live-token count, soonest expiry and last coverage
  // upload: one page, the same paging, search and visibility rules as list_repositories.
  Result<ListPage<RepositoryOverview>> list_repository_overviews(const Principal& p, const OrgRef& org,
                                                                 const RepositoryListRequest& req,
                                                                 const PageRequest& page);
  // Live repository tokens inside their organization's warning window, soonest first, over every
  // organization the caller administers (every organization for an instance admin).
  Result<ListPage<ExpiringTokenView>> list_expiring_tokens(const Principal& p, const PageRequest& page);
  // The audit log with the console's filters (org admin).
  Result<ListPage<AuditEntry>> list_audit(const Principal& p, const OrgRef& org, const AuditFilter& filter,
                                          const PageRequest& page);

  // --- leaked tokens (service/service_leaks.cc) ---------------------------------------------------------------
  // For each reported secret, in order: malformed (format or checksum wrong: no lookup, only counted),
  // unknown, or revoked (it was a live or expired token of ours: deleted at once as a normal revocation is,
  // caches cleared, and audited as `token.leaked` with the reported location and source, in the token's
  // organization, or for an account token in each organization of its owner). Needs no principal: holding
  // the secret is enough. `invalid` beyond kMaxLeakBatch reports; a store failure stops the batch (what was
  // revoked before it stays revoked) and is returned.
  Result<std::vector<LeakVerdict>> revoke_leaked(LeakChannel channel, std::span<const LeakReport> reports);
  // The GitLab channel's caller: ok when `authorization` is the configured pre-shared token (compared in
  // constant time); unauthorized when not; not_found (saying how to enable it) when none is configured.
  Status check_gitlab_caller(std::optional<std::string_view> authorization) const;
  // The GitHub channel's caller: ok when `signature` is a valid signature of `body` by the configured key
  // named `key_identifier` (an unknown one re-reads the key set, see GitHubKeys); unauthorized when not;
  // not_found (saying how to enable it) when no key set is configured; unavailable while the configured URL
  // has not answered a key set yet.
  Status check_github_caller(std::optional<std::string_view> key_identifier, std::optional<std::string_view> signature,
                             std::string_view body);

  // --- organization webhooks (service/service_webhooks.cc; org admin) ---------------------------------------------
  // `invalid` naming the field (url, secret, events) and what would be right; nothing is created then.
  Result<Webhook> create_webhook(const Principal& p, const OrgRef& org, const CreateWebhookRequest& req);
  Result<ListPage<Webhook>> list_webhooks(const Principal& p, const OrgRef& org, const PageRequest& page);
  Status delete_webhook(const Principal& p, const OrgRef& org, Id webhook_id);
  // Newest first.
  Result<ListPage<WebhookDelivery>> list_webhook_deliveries(const Principal& p, const OrgRef& org, Id webhook_id,
                                                            const PageRequest& page);
  // --- secretless CI (service/service_ci.cc) ------------------------------------------------------------
  // The trust rules of a repository (repository admin), ascending id.
  Result<std::vector<CiTrustRule>> list_ci_trust_rules(const Principal& p, const RepoRef& repo);
  // Adds one (repository admin). `invalid` naming the field unless: the issuer is configured; the audience
  // is given or the server has a default; claims is non-empty and binds an immutable id claim of the
  // issuer's kind without a glob, unless binds_only_names; lifetime 1..60 minutes (default 15).
  Result<CiTrustRule> add_ci_trust_rule(const Principal& p, const RepoRef& repo, const CiTrustRuleRequest& req);
  Status delete_ci_trust_rule(const Principal& p, const RepoRef& repo, Id rule_id);
  // The exchange: `unauthorized` with a reason a CI log can show ("expired: ...", "wrong audience: ...",
  // "unknown issuer: ...", "replayed: ...", "signature: ...", "not yet valid: ...", "malformed: ...",
  // "no trust rule matched ..."), issuing nothing; the last never says whether any repository exists.
  // Otherwise a CI-only repository token of the rule's repository, audited with the matched claims.
  Result<CiExchange> exchange_ci_token(std::string_view jwt);
  // Refused exchanges also answer `throttled` past --ci-rate-per-issuer / --ci-rate-per-repository.
  // The default audience rules without one expect ("" when none is configured).
  const std::string& ci_default_audience() const { return options_.ci_default_audience; }

  // Writes pending lastUsedAt updates now (also done every last_use_flush_ms by a background thread).
  void flush_last_use();
  // Deletes the CI-only tokens that expired more than ci_token_retention_seconds ago (also done every
  // ci_purge_interval_seconds by the background thread); returns how many.
  Result<int> purge_expired_ci_tokens();

 private:
  struct Parts;  // the units behind this contract and their caches (service/internal.h)
  Result<CommitCoverage> load_commit_coverage(Id repository_id, const std::string& commit);
  Result<Principal> authenticate_console_session(const std::string& session_id);  // service/console.cc
  SecretHash console_session_hash(std::string_view session_id) const;
  // The access of a coverage call: the token's repository, or a named one with write permission.
  Result<Access> coverage_access(const Principal& p, const CoverageTarget& t);
  AuditEvent audit(const Principal& p, std::optional<Id> org_id, std::string action, std::string target,
                   std::string details = {});
  // Clears every cache: after a change made through this node, so it is seen here at once.
  void invalidate_caches();
  const CiIssuer* find_ci_issuer(std::string_view url) const;
  // exchange_ci_token without its metrics; sets `issuer` to the configured issuer the JWT names, if any.
  Result<CiExchange> exchange_ci_token_unmetered(std::string_view jwt, std::string& issuer);
  // Counts one exchange against `key` under `rule`; `throttled` naming `what` when over it.
  Status charge_ci_exchange(const std::string& key, const RateLimitRule& rule, const std::string& what);
  Result<User> create_user_unchecked(const NewUserRequest& req);
  Result<IssuedAccountToken> issue_user_token_unchecked(Id user_id, const std::optional<std::string>& expires_at);

  Store& store_;
  const SecretHasher& hasher_;
  const Clock& clock_;
  RandomSource& random_;
  Limiter& limiter_;
  ServiceOptions options_;
  CursorCodec cursors_;
  std::unique_ptr<Parts> parts_;  // last: built from the members above, stopped before they go
};

}  // namespace rt
