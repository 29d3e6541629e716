// The route table of repotokensd: every v3 operation of API.md, the legacy /2.0 coverage calls, the
// repotokens extensions, the unauthenticated health, version and metrics endpoints, and a 501 for every
// other operation of Codacy's document.
#include "core/metrics.h"
#include "server/codacy_operations.h"
#include "server/console_http.h"
#include "server/handlers.h"
#include "server/router.h"
#include "server/version.h"

namespace rt::server {

ApiResponse handle_health(const ApiRequest&) {
  ApiResponse r;
  r.body = R"({"data":{"message":"ok"}})";
  return r;
}

ApiResponse handle_version(const ApiRequest&) {
  ApiResponse r;
  r.body = R"({"data":")" REPOTOKENS_VERSION R"("})";
  return r;
}

ApiResponse handle_metrics(const ApiRequest&) {
  ApiResponse r;
  r.body = metrics::render();
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

namespace {

constexpr CodacyOperation kCodacyOperations[] = {
#include "server/codacy_operations.inc"
};

// Last, after every served route: each Codacy operation no served route is named after answers 501, so a
// client can tell "unsupported here" from "no such thing" (404). Served routes, added first, win.
void add_codacy_not_implemented(Router& r) {
  for (const CodacyOperation& op : codacy_operations()) {
    bool served = false;
    for (const Route& route : r.routes()) served = served || std::string_view(route.name) == op.operation_id;
    if (!served) r.add_not_implemented(op.method, std::string("/api/v3") + op.path, op.operation_id);
  }
}

}  // namespace

std::span<const CodacyOperation> codacy_operations() { return kCodacyOperations; }

Router make_router() {
  using M = Method;
  Router r;
  const std::string v3 = "/api/v3";
  const std::string org = v3 + "/organizations/{provider}/{org}";
  const std::string repo = org + "/repositories/{repo}";

  r.add(M::get, v3 + "/health", "health", handle_health);
  r.add(M::get, v3 + "/version", "getVersion", handle_version);
  r.add(M::get, "/metrics", "metrics", handle_metrics);

  r.add(M::get, v3 + "/user", "getUser", get_user);
  r.add(M::get, v3 + "/user/tokens", "getUserApiTokens", get_user_api_tokens);
  r.add(M::post, v3 + "/user/tokens", "createUserApiToken", create_user_api_token);
  r.add(M::del, v3 + "/user/tokens/{tokenId}", "deleteUserApiToken", delete_user_api_token);
  r.add(M::get, v3 + "/user/organizations", "listUserOrganizations", list_user_organizations);
  r.add(M::get, v3 + "/user/organizations/{provider}", "listOrganizations", list_organizations);

  r.add(M::post, v3 + "/organizations", "addOrganization", add_organization);
  r.add(M::get, org, "getOrganization", get_organization);
  r.add(M::get, org + "/people", "listPeopleFromOrganization", list_people);
  r.add(M::post, org + "/people", "addPeopleToOrganization", add_people);
  r.add(M::post, org + "/people/remove", "removePeopleFromOrganization", remove_people);
  r.add(M::put, org + "/people/{userId}", "setOrganizationMemberRole", set_member_role);
  r.add(M::del, org + "/people/{userId}", "removeOrganizationMember", remove_member);
  r.add(M::get, org + "/settings/tokens", "getTokenPolicy", get_token_policy);
  r.add(M::put, org + "/settings/tokens", "setTokenPolicy", set_token_policy);
  r.add(M::get, org + "/audit", "listAuditLogsForOrganization", list_audit);
  // Organization webhooks (API.md "Webhooks"), a repotokens extension.
  r.add(M::get, org + "/webhooks", "listOrganizationWebhooks", list_webhooks);
  r.add(M::post, org + "/webhooks", "createOrganizationWebhook", create_webhook);
  r.add(M::del, org + "/webhooks/{webhookId}", "deleteOrganizationWebhook", delete_webhook);
  r.add(M::get, org + "/webhooks/{webhookId}/deliveries", "listOrganizationWebhookDeliveries", list_webhook_deliveries);

  r.add(M::post, v3 + "/repositories", "addRepository", add_repository);
  // Reads that answer without a token for a Public repository (API.md), grouped here.
  const std::string analysis = v3 + "/analysis/organizations/{provider}/{org}/repositories/{repo}";
  r.add_public_read(M::get, org + "/repositories", "listOrganizationRepositories", list_repositories);
  r.add_public_read(M::get, repo, "getRepository", get_repository, get_repository_from_memory);
  r.add_public_read(M::get, repo + "/coverage/status", "listCoverageReports", list_coverage_reports);
  r.add_public_read(M::get, repo + "/coverage/uploads", "listCoverageUploads", list_coverage_uploads);
  r.add_public_read(M::get, repo + "/commits/{commitUuid}/coverage", "getCommitCoverage", get_commit_coverage);
  r.add_public_read(M::get, analysis, "getRepositoryWithAnalysis", get_repository_with_analysis);
  r.add_public_read(M::get, analysis + "/commits/{commitUuid}", "getCommit", get_commit);

  r.add(M::del, repo, "deleteRepository", delete_repository);
  r.add(M::put, repo + "/people/{userId}", "setRepositoryPermission", set_repository_permission);
  r.add(M::get, repo + "/tokens", "listRepositoryApiTokens", list_repository_tokens);
  r.add(M::post, repo + "/tokens", "createRepositoryApiToken", create_repository_token);
  r.add(M::post, repo + "/tokens/delete", "deleteRepositoryApiTokens", delete_repository_tokens);
  r.add(M::del, repo + "/tokens/{tokenId}", "deleteRepositoryApiToken", delete_repository_token);
  // Secretless CI (API.md): trust rules per repository, and the exchange, whose credential is the signed JWT.
  r.add(M::get, repo + "/ci-trust", "listCiTrustRules", list_ci_trust_rules);
  r.add(M::post, repo + "/ci-trust", "addCiTrustRule", add_ci_trust_rule);
  r.add(M::del, repo + "/ci-trust/{ruleId}", "deleteCiTrustRule", delete_ci_trust_rule);
  r.add_anonymous(M::post, v3 + "/ci/token", "exchangeCiToken", exchange_ci_token);


  // Legacy coverage (API.md "Legacy coverage endpoints"). Distinct segment counts or literals keep the
  // shapes apart: by name with provider (8 and 7 segments), without provider (7 and 6), by token (4).
  const std::string named = "/2.0/{provider}/{org}/{repo}/commit/{commitUuid}";
  const std::string unnamed = "/2.0/{org}/{repo}/commit/{commitUuid}";
  r.add_legacy(M::post, "/2.0/coverage/{commitUuid}/{language}", "sendCoverageReport", upload_coverage_by_token);
  r.add_legacy(M::post, "/2.0/commit/{commitUuid}/coverageFinal", "sendCoverageFinal", final_coverage_by_token);
  r.add_legacy(M::post, named + "/coverage/{language}", "sendCoverageReportByName", upload_coverage_by_name);
  r.add_legacy(M::post, named + "/coverageFinal", "sendCoverageFinalByName", final_coverage_by_name);
  r.add_legacy(M::post, unnamed + "/coverage/{language}", "sendCoverageReportNoProvider",
               upload_coverage_without_provider);
  r.add_legacy(M::post, unnamed + "/coverageFinal", "sendCoverageFinalNoProvider", final_coverage_without_provider);

  // The web console (API.md "The web console"): its pages, its session, and its read-only extensions.
  const std::string console = v3 + "/console";
  r.add(M::get, "/", "consoleRedirect", redirect_to_console);
  r.add(M::get, "/console", "consoleRedirect", redirect_to_console);
  r.add(M::get, "/console/", "consoleFile", console_index);
  r.add(M::get, "/console/{file}", "consoleFile", console_file);
  r.add_public(M::post, console + "/session", kConsoleSignIn.data(), console_sign_in);
  r.add_public(M::del, console + "/session", "consoleSignOut", console_sign_out);
  r.add(M::get, console + "/session", "consoleSession", console_session);
  r.add(M::get, console + "/organizations/{provider}/{org}/repositories", "consoleRepositories", console_repositories);
  r.add(M::get, console + "/organizations/{provider}/{org}/audit", "consoleAudit", console_audit);
  r.add(M::get, console + "/expiring", "consoleExpiring", console_expiring);

  // Leaked tokens (API.md "Leaked tokens"): no account credential; each caller is charged per address.
  // GitLab calls its token revocation API at the server root.
  r.add_anonymous(M::post, v3 + "/tokens/revoke", "revokeLeakedToken", revoke_leaked_token);
  r.add_anonymous(M::post, v3 + "/secret-scanning/github", "githubSecretScanningAlert", github_secret_scanning_alert);
  r.add_anonymous(M::get, "/v1/revocable_token_types", "gitlabRevocableTokenTypes", gitlab_revocable_token_types);
  r.add_anonymous(M::post, "/v1/revoke_tokens", "gitlabRevokeTokens", gitlab_revoke_tokens);

  r.add(M::post, v3 + "/admin/users", "createUser", create_user);
  r.add(M::post, v3 + "/admin/users/{userId}/tokens", "issueUserToken", issue_user_token);

  add_codacy_not_implemented(r);
  return r;
}

}  // namespace rt::server
