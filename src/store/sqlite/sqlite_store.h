// The SQLite implementation of Store: reads on a pool of WAL readers, every mutation through the single
// group-committing Writer. The methods are split by concern over sqlite_{users,organizations,
// repositories,tokens,coverage}.cc; rows.h holds the row decoders and small helpers they share.
#pragma once

#include <memory>
#include <string>

#include "store/coverage_store.h"
#include "store/sqlite/read_pool.h"
#include "store/sqlite/writer.h"
#include "store/store.h"

namespace rt::sqlite {

// Opens (creating when allowed) the database at `path`, applies missing migrations, starts the writer.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const StoreOptions& options);

class SqliteStore final : public Store, public CoverageStore {
 public:
  SqliteStore(std::unique_ptr<Writer> writer, std::unique_ptr<ReadPool> readers)
      : writer_(std::move(writer)), readers_(std::move(readers)) {}

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

  // Secretless CI (sqlite_ci.cc).
  Result<CiTrustRule> create_ci_trust_rule(const CiTrustRule& rule, const AuditEvent& audit) override;
  Result<std::vector<CiTrustRule>> list_ci_trust_rules(Id repository_id) override;
  Result<std::vector<CiTrustRule>> find_ci_trust_rules(const std::string& issuer) override;
  Status delete_ci_trust_rule(Id repository_id, Id rule_id, const AuditEvent& audit) override;
  Result<bool> record_ci_jti(const std::string& issuer, const std::string& jti, UnixTime expires_at,
                             UnixTime now) override;

  // Web-console sessions and summaries (sqlite_console.cc).
  Status create_console_session(const ConsoleSession& session) override;
  Result<ConsoleSessionOwner> find_console_session(const SecretHash& hash) override;
  Status touch_console_session(const SecretHash& hash, UnixTime at) override;
  Status delete_console_session(const SecretHash& hash) override;
  Status purge_console_sessions(UnixTime now, UnixTime idle_before) override;

  // Organization webhooks and their outbox (sqlite_webhooks.cc).
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

  // Coverage (sqlite_coverage.cc).
  CoverageStore& coverage() override { return *this; }
  Result<CoverageUpload> save_coverage(const CoverageWrite& write) override;
  Result<CoverageUpload> record_failed_coverage(const CoverageUpload& failed) override;
  Result<int> finalize_coverage(Id repository_id, const std::string& commit, UnixTime at,
                                const std::optional<AuditEvent>& audit) override;
  Result<Page<CoverageUpload>> query_coverage_uploads(const CoverageUploadQuery& query) override;
  Result<std::vector<CoverageReportRecord>> get_commit_coverage(Id repository_id, const std::string& commit) override;
  Result<std::optional<std::string>> latest_final_commit(Id repository_id) override;

 private:
  template <class F>
  auto read(F&& fn) {
    return readers_->with(std::forward<F>(fn));
  }
  template <class T, class F>
  Result<T> write(F&& fn) {
    return writer_->run<T>(std::forward<F>(fn));
  }

  // Members die in reverse order: the readers close first, then the writer finishes its queue and, as the
  // last connection, checkpoints the WAL into the main file.
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<ReadPool> readers_;
};

}  // namespace rt::sqlite
