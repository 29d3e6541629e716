// Handlers for instance administration (repotokens extensions): creating users and their first token.
#include <nlohmann/json.hpp>

#include "server/handlers.h"
#include "server/json_io.h"

namespace rt::server {

ApiResponse create_user(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto name = required_string_field(*body, "name");
  if (!name) return failure(name);
  auto email = string_field(*body, "email");
  if (!email) return failure(email);
  auto is_admin = bool_field(*body, "isAdmin");
  if (!is_admin) return failure(is_admin);
  NewUserRequest create{std::move(*name), std::move(*email), is_admin->value_or(false)};
  auto user = service.create_user(p, create);
  if (!user) return failure(user);
  return data_response(201, user_json(*user));
}

ApiResponse issue_user_token(Service& service, const Principal& p, const ApiRequest& req) {
  auto user_id = id_param(req.params.at(0), "userId");
  if (!user_id) return failure(user_id);
  auto body = parse_body(req.body, false);
  if (!body) return failure(body);
  auto expires_at = string_field(*body, "expiresAt");
  if (!expires_at) return failure(expires_at);
  auto issued = service.issue_user_token(p, *user_id, *expires_at);
  if (!issued) return failure(issued);
  return data_response(201, issued_account_token_json(*issued));
}

}  // namespace rt::server
