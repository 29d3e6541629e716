// Handlers for the caller's own account: the user, their account API tokens, their organizations.
#include <nlohmann/json.hpp>

#include "server/handlers.h"
#include "server/json_page.h"

namespace rt::server {

ApiResponse get_user(Service& service, const Principal& p, const ApiRequest&) {
  auto user = service.get_user(p);
  if (!user) return failure(user);
  return data_response(200, user_json(*user));
}

ApiResponse get_user_api_tokens(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  auto tokens = service.list_user_tokens(p, *page);
  if (!tokens) return failure(tokens);
  return render_page(*tokens, account_token_json);
}

ApiResponse create_user_api_token(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, false);
  if (!body) return failure(body);
  auto expires_at = string_field(*body, "expiresAt");
  if (!expires_at) return failure(expires_at);
  auto issued = service.create_user_token(p, *expires_at);
  if (!issued) return failure(issued);
  return bare_response(200, issued_account_token_json(*issued));  // bare, as Codacy's spec has it
}

ApiResponse delete_user_api_token(Service& service, const Principal& p, const ApiRequest& req) {
  auto id = id_param(req.params.at(0), "tokenId");
  if (!id) return failure(id);
  auto done = service.delete_user_token(p, *id);
  if (!done) return failure(done);
  return no_content();
}

namespace {
json membership_json(const OrganizationMembership& m) {
  return organization_json(m.organization, m.role, m.role.has_value());
}
}  // namespace

ApiResponse list_user_organizations(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  auto orgs = service.list_user_organizations(p, std::nullopt, *page);
  if (!orgs) return failure(orgs);
  return render_page(*orgs, membership_json);
}

ApiResponse list_organizations(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  auto orgs = service.list_user_organizations(p, req.params.at(0), *page);
  if (!orgs) return failure(orgs);
  return render_page(*orgs, membership_json);
}

}  // namespace rt::server
