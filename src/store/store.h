// The Store interface: the only door to persistent state. Implementations (sqlite/, postgres/) keep all
// SQL and dialect details to themselves and pass one shared test suite (tests/unit/store_*_test.cc).
//
// Every method is synchronous and thread-safe; the server calls them from its blocking pool, never from
// the event loop. Failures are values: `not_found`, `conflict` (a uniqueness rule or limit), `invalid`,
// `unavailable` (the database cannot be reached; retry later), `internal`.
//
// Mutations that an organization's audit log must show take the AuditEvent to append, and write it in
// the same transaction as the change, so the log never claims what did not happen nor misses what did.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "core/secret.h"

namespace rt {

class CoverageStore;  // store/coverage_store.h

// One page of a keyset listing. `more` says whether rows follow the last one returned.
template <class T>
struct Page {
  std::vector<T> items;
  std::int64_t total = 0;  // rows matching the query, all pages together
  bool more = false;
};

struct NewUser {
  std::string name;
  std::optional<std::string> email;
  bool is_admin = false;
  UnixTime created_at = 0;
};

// An account token and the user it belongs to: what authentication needs in one lookup.
struct AccountTokenOwner {
  AccountToken token;
  User user;
};

struct NewOrganization {
  Provider provider = Provider::gh;
  std::string name;
  std::string remote_identifier;
  OrgType type = OrgType::Organization;
  UnixTime created_at = 0;
  TokenPolicy policy;
};

struct OrganizationMembership {
  Organization organization;
  std::optional<OrgRole> role;  // nullopt when the caller sees it only as instance admin
};

struct NewRepository {
  Id org_id = 0;
  std::string name;
  Visibility visibility = Visibility::Private;
  std::string remote_identifier;
  std::vector<std::string> languages;
  UnixTime created_at = 0;
};

// Which repositories of an organization a listing returns, in ascending name order.
struct RepositoryQuery {
  Id org_id = 0;
  // nullopt: every repository (instance or organization admin). Otherwise the repositories this member
  // may see: those granted to the user explicitly, plus those that are not Private.
  std::optional<Id> viewer;
  std::string search;                      // case-insensitive substring of the name; empty = all
  std::optional<Visibility> visibility;    // the `filter` parameter, when it names a visibility
  std::vector<std::string> languages;      // any of them (case-insensitive); empty = all
  std::optional<std::string> after_name;   // keyset position: the last name of the previous page
  int limit = 100;
};

struct RepositoryView {
  Repository repository;
  std::optional<Permission> permission;  // the viewer's explicit grant, if any
};

struct NewRepositoryToken {
  Id repository_id = 0;
  std::string name;
  SecretHash hash{};
  UnixTime created_at = 0;
  UnixTime expires_at = 0;
  bool ci_only = false;  // a CI exchange's token (RepositoryToken::ci_only)
};

struct LastUse {
  TokenKind kind = TokenKind::repository;
  Id token_id = 0;
  UnixTime at = 0;
};

// A web-console session. Only the hash of its id is stored; the session ends with its account token.
struct ConsoleSession {
  SecretHash hash{};
  Id account_token_id = 0;
  UnixTime created_at = 0;
  UnixTime last_seen_at = 0;
  UnixTime expires_at = 0;  // the absolute end; the idle end is last_seen_at + the idle lifetime
};
struct ConsoleSessionOwner {
  ConsoleSession session;
  AccountTokenOwner owner;  // the account token the session was opened with, and its user
};

// How many live tokens a repository holds and the soonest of their expiries (none when no live token).
struct RepositoryTokenSummary {
  Id repository_id = 0;
  int live = 0;
  std::optional<UnixTime> soonest_expiry;
};

// Live repository tokens inside their organization's warning window (expires_at <= now + the
// organization's expiry_warning_days), soonest first, across the organizations a user administers.
struct ExpiringTokenQuery {
  std::optional<Id> admin_user_id;  // nullopt: every organization (instance admin)
  UnixTime now = 0;
  std::optional<std::pair<UnixTime, Id>> after;  // keyset position: (expires_at, id) of the previous page's last
  int limit = 100;
};
struct ExpiringToken {
  RepositoryToken token;
  Repository repository;
  int warning_days = 14;  // the organization's window
};

struct AuditQuery {
  Id org_id = 0;
  std::optional<UnixTime> from;       // inclusive
  std::optional<UnixTime> to;         // inclusive
  std::optional<Id> before_id;        // keyset position, newest first
  int limit = 100;
  // Optional filters (empty = any): the action exactly ("repository.token.create"); the actor as a
  // case-insensitive substring ("ada" finds "user:ada"); a repository path ("gh/acme/api"), which matches
  // events about the repository itself and about its tokens ("gh/acme/api#token:42").
  std::string action;
  std::string actor;
  std::string repository;
};

// --- webhooks (docs/webhooks.md) ---------------------------------------------------------------------
// The events an organization webhook may subscribe to, as they appear on the wire.
// The most ids one get_repositories_by_id call takes.
inline constexpr size_t kMaxRepositoriesById = 1000;

inline constexpr const char* kWebhookEventNames[] = {"token.created", "token.revoked",  "token.leaked",
                                                     "token.expiring", "token.expired", "token.exchanged"};

struct NewWebhook {
  Id org_id = 0;
  std::string url;
  std::vector<std::string> events;  // names from kWebhookEventNames, checked by the service
  std::string sealed_secret;        // the secret encrypted with the server key (SecretBox), never plain
  UnixTime created_at = 0;
};
struct Webhook {
  Id id = 0;
  Id org_id = 0;
  std::string url;
  std::vector<std::string> events;
  UnixTime created_at = 0;
  bool failing = false;  // an event to it went undelivered for the whole retry window
};
// One row of the outbox: an event for one webhook, and how its delivery went so far.
struct WebhookDelivery {
  Id id = 0;
  Id webhook_id = 0;
  std::string event_id;     // the body's "id": the same for every webhook that receives the event
  std::string delivery_id;  // X-Repotokens-Delivery: unique per (event, webhook), the same on every retry
  std::string event;        // "token.created", ...
  std::string body;         // the JSON posted, never a secret
  UnixTime created_at = 0;
  int attempts = 0;
  std::optional<UnixTime> next_attempt_at;  // nullopt once delivered or given up
  std::optional<UnixTime> last_attempt_at;
  std::optional<int> last_status;           // the receiver's HTTP status of the last attempt
  std::string last_error;                   // why the last attempt failed without a status (timeout, ...)
  std::optional<int> last_latency_ms;
  std::optional<UnixTime> delivered_at;
};

// An outbox row claimed for one delivery attempt, with what the worker needs to post it.
struct DueWebhookEvent {
  WebhookDelivery delivery;
  std::string url;
  std::string sealed_secret;
  bool webhook_failing = false;  // the webhook's mark when claimed (a delivery now clears it)
};
// The outcome of one attempt. `next_attempt_at` nullopt with `delivered` false: given up (the retry window
// is over); the webhook is then marked failing. A delivered event clears the webhook's failing mark.
struct WebhookAttempt {
  Id event_row = 0;  // WebhookDelivery::id
  // Not tried (a run stopped before it): only the lease ends, next_attempt_at becomes `next_attempt_at`;
  // attempts, the last outcome and the webhook's failing mark stay as they were.
  bool released = false;
  UnixTime at = 0;
  bool delivered = false;
  std::optional<int> status;  // the receiver's HTTP status, if it answered
  std::string error;          // why there is no status (refused, timed out, ...); empty otherwise
  int latency_ms = 0;
  std::optional<UnixTime> next_attempt_at;
  // What the outbox row keeps of an attempt: its time once delivered, and the next attempt's unless delivered.
  std::optional<UnixTime> delivered_time() const { return delivered ? std::optional<UnixTime>(at) : std::nullopt; }
  std::optional<UnixTime> next_due() const { return delivered ? std::nullopt : next_attempt_at; }
};

class Store {
 public:
  virtual ~Store() = default;

  // --- users and account tokens ---------------------------------------------------------------
  // conflict when the name is taken (names are unique, compared exactly).
  virtual Result<User> create_user(const NewUser& user) = 0;
  virtual Result<User> get_user(Id user_id) = 0;
  // The users whose e-mail address is `email` compared without ASCII case (`email` given in lower case),
  // ascending id; empty when none.
  virtual Result<std::vector<User>> find_users_by_email(const std::string& email) = 0;
  virtual Result<AccountToken> create_account_token(Id user_id, const SecretHash& hash, UnixTime created_at,
                                                    std::optional<UnixTime> expires_at) = 0;
  // not_found when no token has this hash.
  virtual Result<AccountTokenOwner> find_account_token(const SecretHash& hash) = 0;
  // Newest first (descending id), ids below `before_id` when given.
  virtual Result<Page<AccountToken>> list_account_tokens(Id user_id, std::optional<Id> before_id, int limit) = 0;
  // not_found unless the token exists and belongs to the user.
  virtual Status delete_account_token(Id user_id, Id token_id) = 0;

  // --- organizations and members ----------------------------------------------------------------
  // Creates the organization and makes `creator` its admin, atomically. conflict when provider+name exists.
  virtual Result<Organization> create_organization(const NewOrganization& org, Id creator,
                                                   const AuditEvent& audit) = 0;
  virtual Result<Organization> get_organization(Provider provider, const std::string& name) = 0;
  virtual Result<Organization> get_organization_by_id(Id org_id) = 0;
  // The organizations `user_id` belongs to (all of them when `all` is set, for instance admins), ascending
  // id, ids above `after_id`; optionally of one provider.
  virtual Result<Page<OrganizationMembership>> list_organizations(Id user_id, bool all,
                                                                  std::optional<Provider> provider,
                                                                  std::optional<Id> after_id, int limit) = 0;
  virtual Status set_token_policy(Id org_id, const TokenPolicy& policy, const AuditEvent& audit) = 0;

  virtual Result<std::optional<OrgRole>> get_role(Id org_id, Id user_id) = 0;
  // Adds the member or changes the role. not_found when the user does not exist.
  virtual Status set_member(Id org_id, Id user_id, OrgRole role, const AuditEvent& audit) = 0;
  // Removes the member and every repository permission they had in the organization.
  virtual Status remove_member(Id org_id, Id user_id, const AuditEvent& audit) = 0;
  // Ascending user id; `search` is a case-insensitive substring of name or email.
  virtual Result<Page<Member>> list_members(Id org_id, const std::string& search, std::optional<Id> after_user_id,
                                            int limit) = 0;

  // --- repositories -------------------------------------------------------------------------------
  // conflict when the organization already has a repository with that name.
  virtual Result<Repository> create_repository(const NewRepository& repo, const AuditEvent& audit) = 0;
  virtual Result<Repository> get_repository(Id org_id, const std::string& name) = 0;
  virtual Result<Repository> get_repository_by_id(Id repository_id) = 0;
  // The repositories of `ids` that exist, in one read (any order; a missing id is simply absent, an empty
  // span answers an empty list). invalid when more than kMaxRepositoriesById ids are asked at once.
  virtual Result<std::vector<Repository>> get_repositories_by_id(std::span<const Id> ids) = 0;
  virtual Result<Page<RepositoryView>> list_repositories(const RepositoryQuery& query) = 0;
  // Deletes the repository with its tokens and permissions.
  virtual Status delete_repository(Id repository_id, const AuditEvent& audit) = 0;
  virtual Result<std::optional<Permission>> get_permission(Id repository_id, Id user_id) = 0;
  // Grants (or changes) a permission. not_found when the user does not exist.
  virtual Status set_permission(Id repository_id, Id user_id, Permission permission, const AuditEvent& audit) = 0;

  // --- repository tokens ----------------------------------------------------------------------------
  // Atomically: conflict when the repository already has `max_live` live tokens (expires_at > now), or a
  // live token with the same name; the message says which rule. Otherwise inserts and returns the token.
  virtual Result<RepositoryToken> create_repository_token(const NewRepositoryToken& token, UnixTime now,
                                                          int max_live, const AuditEvent& audit) = 0;
  virtual Result<RepositoryToken> find_repository_token(const SecretHash& hash) = 0;
  // Newest first (descending id), live and expired alike.
  virtual Result<Page<RepositoryToken>> list_repository_tokens(Id repository_id, std::optional<Id> before_id,
                                                               int limit) = 0;
  // Deletes those of `ids` that belong to the repository; returns how many were deleted.
  virtual Result<int> delete_repository_tokens(Id repository_id, std::span<const Id> ids,
                                               const AuditEvent& audit) = 0;
  // Deletes at most `limit` CI-only tokens (RepositoryToken::ci_only) that expired before `expired_before`,
  // the oldest first, through the expiry index; returns how many. Housekeeping: not audited, not announced
  // (their exchange was, and they can no longer be used). Other tokens are never touched.
  virtual Result<int> purge_expired_ci_tokens(UnixTime expired_before, int limit) = 0;

  // Records when tokens were last used. Called in batches by the service, not once per request.
  virtual Status record_last_use(std::span<const LastUse> uses) = 0;
  // One summary per id of `repository_ids` that has live tokens (expires_at > now); others are absent.
  virtual Result<std::vector<RepositoryTokenSummary>> summarize_repository_tokens(std::span<const Id> repository_ids,
                                                                                 UnixTime now) = 0;
  // `more` says whether further tokens follow; `total` counts them all.
  virtual Result<Page<ExpiringToken>> list_expiring_repository_tokens(const ExpiringTokenQuery& query) = 0;

  // --- secretless CI (API.md "Secretless CI") ------------------------------------------------------
  // `rule.id` and `created_at` are the store's; not_found when the repository does not exist.
  virtual Result<CiTrustRule> create_ci_trust_rule(const CiTrustRule& rule, const AuditEvent& audit) = 0;
  // Ascending id.
  virtual Result<std::vector<CiTrustRule>> list_ci_trust_rules(Id repository_id) = 0;
  // Every rule naming this issuer, over all repositories, ascending id: what an exchange tries.
  virtual Result<std::vector<CiTrustRule>> find_ci_trust_rules(const std::string& issuer) = 0;
  // not_found unless the rule exists and belongs to the repository.
  virtual Status delete_ci_trust_rule(Id repository_id, Id rule_id, const AuditEvent& audit) = 0;
  // Records that a JWT id was exchanged, kept until `expires_at`. Returns false (and records nothing) when
  // the same (issuer, jti) is already recorded and not yet past its expiry. Forgets expired entries.
  virtual Result<bool> record_ci_jti(const std::string& issuer, const std::string& jti, UnixTime expires_at,
                                     UnixTime now) = 0;

  // --- web-console sessions ---------------------------------------------------------------------------
  // not_found when the account token no longer exists.
  virtual Status create_console_session(const ConsoleSession& session) = 0;
  // not_found when no session has this hash (or its account token was revoked).
  virtual Result<ConsoleSessionOwner> find_console_session(const SecretHash& hash) = 0;
  virtual Status touch_console_session(const SecretHash& hash, UnixTime at) = 0;
  // Deleting an absent session is not an error (signing out twice is harmless).
  virtual Status delete_console_session(const SecretHash& hash) = 0;
  // Deletes sessions past their absolute end (expires_at <= now) or idle since `idle_before`.
  virtual Status purge_console_sessions(UnixTime now, UnixTime idle_before) = 0;

  // --- audit -------------------------------------------------------------------------------------------
  virtual Status append_audit(const AuditEvent& event) = 0;
  virtual Result<Page<AuditEvent>> list_audit(const AuditQuery& query) = 0;

  // --- organization webhooks ----------------------------------------------------------------------------
  // Token changes (create_repository_token, delete_repository_tokens — "token.leaked" when the audit action
  // says so — and append_audit of a "token.leaked" event naming an account token) write one outbox row per
  // subscribed webhook of the organization, in the same transaction as the change.
  virtual Result<Webhook> create_webhook(const NewWebhook& webhook, const AuditEvent& audit) = 0;
  // Ascending id, ids above `after_id`.
  virtual Result<Page<Webhook>> list_webhooks(Id org_id, std::optional<Id> after_id, int limit) = 0;
  // not_found unless the webhook exists in the organization. Its undelivered events go with it.
  virtual Status delete_webhook(Id org_id, Id webhook_id, const AuditEvent& audit) = 0;
  // Newest first (descending id), ids below `before_id`. not_found unless the webhook is the organization's.
  virtual Result<Page<WebhookDelivery>> list_webhook_deliveries(Id org_id, Id webhook_id,
                                                                std::optional<Id> before_id, int limit) = 0;

  // The delivery worker's side. Claims due events (next_attempt_at <= now) of up to `limit` webhooks, oldest
  // first: each webhook's oldest undelivered event, and after it up to `run - 1` more of that webhook's
  // undelivered events, consecutive and due, in order (a run the worker posts one after the other over one
  // connection). Nothing after a webhook's oldest undelivered event is ever claimed without it, so events
  // reach a receiver in the order they happened. A claimed event's next_attempt_at moves to `lease_until`
  // in the claiming transaction, so no other worker or node takes it (nor anything after it) while the
  // attempt runs, and a worker that dies mid-attempt leaves it to be retried once the lease is over. The
  // result holds each webhook's run contiguous, in id order. On PostgreSQL the claim skips rows another node
  // is claiming (FOR UPDATE SKIP LOCKED).
  virtual Result<std::vector<DueWebhookEvent>> claim_webhook_events(UnixTime now, UnixTime lease_until, int limit,
                                                                    int run) = 0;
  // Records the outcomes of attempts (and releases of claimed events not tried), in one transaction.
  virtual Status record_webhook_attempts(std::span<const WebhookAttempt> attempts) = 0;
  Status record_webhook_attempt(const WebhookAttempt& attempt) { return record_webhook_attempts({&attempt, 1}); }
  // Webhooks marked failing, across organizations (for /metrics).
  virtual Result<std::int64_t> count_failing_webhooks() = 0;

  // The expiry scheduler's side (docs/webhooks.md, "Expiry notices"). Finds up to `limit` tokens, of both
  // kinds, whose next expiry notice is due at `now` — through indexes only: tokens never looked at by their
  // expiry time, the others by the time their next notice is due — and for each writes the notice
  // (next_expiry_notice, store/expiry_notice.h) to the outbox of the subscribed webhooks and advances the
  // token's notice time, in one transaction, so each notice is emitted once. `windows` are seconds before
  // expiry, descending, each > 0 (e.g. {604800, 86400}). Returns how many tokens it advanced; 0 also when,
  // on PostgreSQL, another node is scanning right now (one node at a time, by an advisory lock).
  virtual Result<int> announce_token_expiry(UnixTime now, std::span<const std::int64_t> windows, int limit) = 0;

  // --- coverage (store/coverage_store.h) -------------------------------------------------------------
  // The coverage storage of this backend, alive as long as the store.
  virtual CoverageStore& coverage() = 0;
};

struct StoreOptions {
  int read_connections = 8;        // SQLite: concurrent readers; PostgreSQL: pool size
  bool group_commit = true;        // SQLite: batch concurrent writes into one transaction
  bool create_if_missing = true;   // SQLite: create the file (and schema) on first open
  // PostgreSQL: false = never migrate an existing schema (a node on a database that nodes of another build
  // may be serving on): refuse one that is not current; an empty database still gets the schema.
  bool migrate_existing = true;
};

// What a database URL names, without opening anything: "sqlite:PATH", "sqlite://PATH" or a bare path
// ending in .db (SQLite, `path` is the file), or "postgresql://..." / "postgres://..." (PostgreSQL).
struct StoreLocation {
  enum class Backend { sqlite, postgres };
  Backend backend = Backend::sqlite;
  std::string path;  // SQLite only
  bool shared() const { return backend == Backend::postgres; }  // served by several nodes at once
};
// `invalid` for an unknown scheme or an empty SQLite path; the message lists the valid forms.
Result<StoreLocation> parse_store_url(const std::string& url);

// The schema version a database is at (0: no repotokens schema yet) beside the one this build of its
// backend wants.
struct SchemaVersion {
  StoreLocation::Backend backend = StoreLocation::Backend::sqlite;
  int found = 0;
  int wanted = 0;
  const char* backend_name() const { return backend == StoreLocation::Backend::postgres ? "PostgreSQL" : "SQLite"; }
};
// Reads it without changing anything (no migration; a missing SQLite file is not created): for
// `admin check`, and for a serving node deciding whether it may create the schema. `unavailable` when the
// database cannot be opened.
Result<SchemaVersion> read_schema_version(const std::string& url);

// Opens "sqlite:PATH" (or a plain path ending in .db) or "postgresql://...", applying migrations for
// SQLite. `invalid` for an unknown scheme (the message lists the valid ones); `unavailable` when the
// database cannot be opened.
Result<std::unique_ptr<Store>> open_store(const std::string& url, const StoreOptions& options = {});

}  // namespace rt
