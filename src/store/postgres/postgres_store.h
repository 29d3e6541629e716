// The PostgreSQL implementation of Store, for several repotokensd nodes sharing one database: a pool of
// libpq connections (StoreOptions::read_connections), prepared statements, and transactions that keep the
// rules true across nodes (creating a repository token locks the repository row first; parts of one
// coverage report lock its row). Concurrent token creations share transactions (group_commit.h). The methods are split by concern over
// pg_{users,organizations,repositories,tokens,coverage}.cc; pg_rows.h holds the decoders.
#pragma once

#include <memory>
#include <string>

#include "store/coverage_store.h"
#include "store/postgres/group_commit.h"
#include "store/postgres/pool.h"
#include "store/store.h"

namespace rt::postgres {

class PostgresStore;

}  // namespace rt::postgres

namespace rt {

// Opens a store on `url` (postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?PARAMS], or postgres://...).
// With options.create_if_missing (the default) it applies missing migrations (safe when several nodes
// start at once), or with options.migrate_existing off only creates the schema of an empty database and
// refuses an older one (what a serving node wants); without create_if_missing it refuses a schema that is
// not exactly current. `unavailable` when the server cannot be reached or the schema is
// newer than this build; the message never shows a password.
Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url, const StoreOptions& options);

// The schema version this build of the PostgreSQL store expects (equal to SQLite's).
int postgres_schema_version();

}  // namespace rt

namespace rt::postgres {

class PostgresStore final : public Store, public CoverageStore {
 public:
  explicit PostgresStore(std::unique_ptr<Pool> pool);

  Result<User> create_user(const NewUser& user) override;
  Result<User> get_user(Id user_id) override;
  Result<std::vector<User>> find_users_by_email(const std::string& email) override;
  Result<AccountToken> create_account_token(Id user_id, const SecretHash& hash, UnixTime created_at,
                                            std::optional<UnixTime> expires_at) override;
  Result<AccountTokenOwner> find_account_token(const SecretHash& hash) override;
  Result<Page<AccountToken>> list_account_tokens(Id user_id, std::optional<Id> before_id, int limit) override;
  Status delete_account_token(Id user_id, Id token_id) override;

  Result<Organization> create_organization(const NewOrganization& org, Id creator, const AuditEvent& audit) override;
  Result<Organization> get_organization(Provider provider, const std::string& name) override;
  Result<Organization> get_organization_by_id(Id org_id) override;
  Result<Page<OrganizationMembership>> list_organizations(Id user_id, bool all, std::optional<Provider> provider,
                                                          std::optional<Id> after_id, int limit) override;
  Status set_token_policy(Id org_id, const TokenPolicy& policy, const AuditEvent& audit) override;
  Result<std::optional<OrgRole>> get_role(Id org_id, Id user_id) override;
  Status set_member(Id org_id, Id user_id, OrgRole role, const AuditEvent& audit) override;
  Status remove_member(Id org_id, Id user_id, const AuditEvent& audit) override;
  Result<Page<Member>> list_members(Id org_id, const std::string& search, std::optional<Id> after_user_id,
                                    int limit) override;

  Result<Repository> create_repository(const NewRepository& repo, const AuditEvent& audit) override;
  Result<Repository> get_repository(Id org_id, const std::string& name) override;
  Result<Repository> get_repository_by_id(Id repository_id) override;
  Result<std::vector<Repository>> get_repositories_by_id(std::span<const Id> ids) override;
  Result<Page<RepositoryView>> list_repositories(const RepositoryQuery& query) override;
  Status delete_repository(Id repository_id, const AuditEvent& audit) override;
  Result<std::optional<Permission>> get_permission(Id repository_id, Id user_id) override;
  Status set_permission(Id repository_id, Id user_id, Permission permission, const AuditEvent& audit) override;

  Result<RepositoryToken> create_repository_token(const NewRepositoryToken& token, UnixTime now, int max_live,
                                                  const AuditEvent& audit) override;
  Result<RepositoryToken> find_repository_token(const SecretHash& hash) override;
  Result<Page<RepositoryToken>> list_repository_tokens(Id repository_id, std::optional<Id> before_id,
                                                       int limit) override;
  Result<int> delete_repository_tokens(Id repository_id, std::span<const Id> ids, const AuditEvent& audit) override;
  Result<int> purge_expired_ci_tokens(UnixTime expired_before, int limit) override;
  Status record_last_use(std::span<const LastUse> uses) override;

  Status append_audit(const AuditEvent& event) override;
  Result<Page<AuditEvent>> list_audit(const AuditQuery& query) override;

  Result<std::vector<RepositoryTokenSummary>> summarize_repository_tokens(std::span<const Id> repository_ids,
                                                                         UnixTime now) override;
  Result<Page<ExpiringToken>> list_expiring_repository_tokens(const ExpiringTokenQuery& query) override;

  // Secretless CI (pg_ci.cc).
  Result<CiTrustRule> create_ci_trust_rule(const CiTrustRule& rule, const AuditEvent& audit) override;
  Result<std::vector<CiTrustRule>> list_ci_trust_rules(Id repository_id) override;
  Result<std::vector<CiTrustRule>> find_ci_trust_rules(const std::string& issuer) override;
  Status delete_ci_trust_rule(Id repository_id, Id rule_id, const AuditEvent& audit) override;
  Result<bool> record_ci_jti(const std::string& issuer, const std::string& jti, UnixTime expires_at,
                             UnixTime now) override;

  // Web-console sessions and summaries (pg_console.cc).
  Status create_console_session(const ConsoleSession& session) override;
  Result<ConsoleSessionOwner> find_console_session(const SecretHash& hash) override;
  Status touch_console_session(const SecretHash& hash, UnixTime at) override;
  Status delete_console_session(const SecretHash& hash) override;
  Status purge_console_sessions(UnixTime now, UnixTime idle_before) override;

  // Organization webhooks and their outbox (pg_webhooks.cc).
  Result<Webhook> create_webhook(const NewWebhook& webhook, const AuditEvent& audit) override;
  Result<Page<Webhook>> list_webhooks(Id org_id, std::optional<Id> after_id, int limit) override;
  Status delete_webhook(Id org_id, Id webhook_id, const AuditEvent& audit) override;
  Result<Page<WebhookDelivery>> list_webhook_deliveries(Id org_id, Id webhook_id, std::optional<Id> before_id,
                                                        int limit) override;
  Result<std::vector<DueWebhookEvent>> claim_webhook_events(UnixTime now, UnixTime lease_until, int limit,
                                                            int run) override;
  Status record_webhook_attempts(std::span<const WebhookAttempt> attempts) override;
  Result<std::int64_t> count_failing_webhooks() override;
  Result<int> announce_token_expiry(UnixTime now, std::span<const std::int64_t> windows, int limit) override;

  // Coverage (pg_coverage.cc).
  CoverageStore& coverage() override { return *this; }
  Result<CoverageUpload> save_coverage(const CoverageWrite& write) override;
  Result<CoverageUpload> record_failed_coverage(const CoverageUpload& failed) override;
  Result<int> finalize_coverage(Id repository_id, const std::string& commit, UnixTime at,
                                const std::optional<AuditEvent>& audit) override;
  Result<Page<CoverageUpload>> query_coverage_uploads(const CoverageUploadQuery& query) override;
  Result<std::vector<CoverageReportRecord>> get_commit_coverage(Id repository_id, const std::string& commit) override;
  Result<std::optional<std::string>> latest_final_commit(Id repository_id) override;

 private:
  template <class T, class F>
  Result<T> read(F&& fn) {
    return pool_->run<T>(std::forward<F>(fn));
  }
  template <class T, class F>
  Result<T> snapshot(F&& fn) {
    return pool_->transaction<T>(std::forward<F>(fn), TxMode::read_snapshot);
  }
  template <class T, class F>
  Result<T> write(F&& fn) {
    return pool_->transaction<T>(std::forward<F>(fn), TxMode::read_write);
  }

  // Token creations go through a group commit (pg_tokens.cc): concurrent ones are written in batches,
  // each batch one transaction, one statement for all its tokens, audit rows and outbox rows, one commit.
  struct Creation;
  void write_creations(std::span<Creation* const> batch);

  std::unique_ptr<Pool> pool_;
  GroupCommit creations_;
};

}  // namespace rt::postgres
