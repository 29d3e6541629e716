// The handlers: one function per API operation, mapping an ApiRequest to a Service call and its Result
// to an ApiResponse. No rules here (the service has them), no SQL (the store has it).
#pragma once

#include "server/api.h"

namespace rt::server {

// Path parameters in pattern order: {provider}/{org}[/{repo}].
inline OrgRef org_ref(const ApiRequest& r) { return OrgRef{r.params.at(0), r.params.at(1)}; }
inline RepoRef repo_ref(const ApiRequest& r) { return RepoRef{org_ref(r), r.params.at(2)}; }

// On the event loop, without credentials.
ApiResponse handle_health(const ApiRequest&);
ApiResponse handle_version(const ApiRequest&);
ApiResponse handle_metrics(const ApiRequest&);

// The caller's account (handlers_user.cc).
ApiResponse get_user(Service&, const Principal&, const ApiRequest&);
ApiResponse get_user_api_tokens(Service&, const Principal&, const ApiRequest&);
ApiResponse create_user_api_token(Service&, const Principal&, const ApiRequest&);
ApiResponse delete_user_api_token(Service&, const Principal&, const ApiRequest&);
ApiResponse list_user_organizations(Service&, const Principal&, const ApiRequest&);
ApiResponse list_organizations(Service&, const Principal&, const ApiRequest&);

// Organizations and people (handlers_org.cc).
ApiResponse get_organization(Service&, const Principal&, const ApiRequest&);
ApiResponse add_organization(Service&, const Principal&, const ApiRequest&);
ApiResponse list_people(Service&, const Principal&, const ApiRequest&);
ApiResponse add_people(Service&, const Principal&, const ApiRequest&);
ApiResponse remove_people(Service&, const Principal&, const ApiRequest&);
ApiResponse set_member_role(Service&, const Principal&, const ApiRequest&);
ApiResponse remove_member(Service&, const Principal&, const ApiRequest&);
ApiResponse get_token_policy(Service&, const Principal&, const ApiRequest&);
ApiResponse set_token_policy(Service&, const Principal&, const ApiRequest&);
ApiResponse list_audit(Service&, const Principal&, const ApiRequest&);

// Organization webhooks (handlers_webhooks.cc).
ApiResponse list_webhooks(Service&, const Principal&, const ApiRequest&);
ApiResponse create_webhook(Service&, const Principal&, const ApiRequest&);
ApiResponse delete_webhook(Service&, const Principal&, const ApiRequest&);
ApiResponse list_webhook_deliveries(Service&, const Principal&, const ApiRequest&);

// Repositories and their tokens (handlers_repo.cc).
ApiResponse list_repositories(Service&, const Principal&, const ApiRequest&);
ApiResponse get_repository(Service&, const Principal&, const ApiRequest&);
std::optional<ApiResponse> get_repository_from_memory(Service&, const Principal&, const ApiRequest&);
ApiResponse add_repository(Service&, const Principal&, const ApiRequest&);
ApiResponse delete_repository(Service&, const Principal&, const ApiRequest&);
ApiResponse set_repository_permission(Service&, const Principal&, const ApiRequest&);
ApiResponse list_repository_tokens(Service&, const Principal&, const ApiRequest&);
ApiResponse create_repository_token(Service&, const Principal&, const ApiRequest&);
ApiResponse delete_repository_token(Service&, const Principal&, const ApiRequest&);
ApiResponse delete_repository_tokens(Service&, const Principal&, const ApiRequest&);

// Coverage (handlers_coverage.cc). The /2.0 calls answer errors in the legacy `{"error": text}` form.
ApiResponse legacy_error_response(const Error& error);
ApiResponse upload_coverage_by_token(Service&, const Principal&, const ApiRequest&);
ApiResponse final_coverage_by_token(Service&, const Principal&, const ApiRequest&);
ApiResponse upload_coverage_by_name(Service&, const Principal&, const ApiRequest&);
ApiResponse final_coverage_by_name(Service&, const Principal&, const ApiRequest&);
ApiResponse upload_coverage_without_provider(Service&, const Principal&, const ApiRequest&);
ApiResponse final_coverage_without_provider(Service&, const Principal&, const ApiRequest&);
ApiResponse list_coverage_reports(Service&, const Principal&, const ApiRequest&);  // Codacy's shape
ApiResponse list_coverage_uploads(Service&, const Principal&, const ApiRequest&);  // our upload log
ApiResponse get_commit_coverage(Service&, const Principal&, const ApiRequest&);    // our per-file summary
ApiResponse get_commit(Service&, const Principal&, const ApiRequest&);             // Codacy's getCommit
ApiResponse get_repository_with_analysis(Service&, const Principal&, const ApiRequest&);

// The web console (handlers_console.cc): its files and redirect on the loop, sign-in and sign-out on
// the pool without the dispatcher's admission, the rest as ordinary service handlers.
ApiResponse redirect_to_console(const ApiRequest&);
ApiResponse console_index(const ApiRequest&);
ApiResponse console_file(const ApiRequest&);
ApiResponse console_sign_in(Service&, const ApiRequest&);
ApiResponse console_sign_out(Service&, const ApiRequest&);
ApiResponse console_session(Service&, const Principal&, const ApiRequest&);
ApiResponse console_repositories(Service&, const Principal&, const ApiRequest&);
ApiResponse console_expiring(Service&, const Principal&, const ApiRequest&);
ApiResponse console_audit(Service&, const Principal&, const ApiRequest&);

// Leaked tokens (handlers_leaks.cc): anyone holding a secret, GitHub secret scanning, GitLab's token
// revocation API. Admitted without credentials (charged per address); the scanners prove themselves.
ApiResponse revoke_leaked_token(Service&, const Principal&, const ApiRequest&);
ApiResponse github_secret_scanning_alert(Service&, const Principal&, const ApiRequest&);
ApiResponse gitlab_revocable_token_types(Service&, const Principal&, const ApiRequest&);
ApiResponse gitlab_revoke_tokens(Service&, const Principal&, const ApiRequest&);

// Secretless CI (handlers_ci.cc): trust rules (repository admin) and the exchange (no credential).
ApiResponse list_ci_trust_rules(Service&, const Principal&, const ApiRequest&);
ApiResponse add_ci_trust_rule(Service&, const Principal&, const ApiRequest&);
ApiResponse delete_ci_trust_rule(Service&, const Principal&, const ApiRequest&);
ApiResponse exchange_ci_token(Service&, const Principal&, const ApiRequest&);

// Instance administration (handlers_admin.cc).
ApiResponse create_user(Service&, const Principal&, const ApiRequest&);
ApiResponse issue_user_token(Service&, const Principal&, const ApiRequest&);

}  // namespace rt::server
