// JSON in and out for the handlers: the wire shapes of the domain types (API.md "Shapes"), the
// envelopes ({"data": ...}, lists with pagination), and field-by-field validation of request bodies.
// Only the forward declaration of nlohmann::json here; the handler files include the real thing.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/api.h"

namespace rt::server {

using nlohmann::json;

json user_json(const User& u);
json organization_json(const Organization& o, std::optional<OrgRole> role = std::nullopt, bool member = false);
json repository_json(const Repository& r, std::optional<Permission> permission = std::nullopt);
// The same shape as text, and `{"data": <repository>}` (or the bare repository, unless `wrapped`) as a
// response, without building a json object.
std::string repository_json_text(const Repository& r, std::optional<Permission> permission = std::nullopt);
ApiResponse repository_response(int status, const Repository& r, std::optional<Permission> permission = std::nullopt,
                                bool wrapped = true);
json account_token_json(const AccountToken& t);                      // listing: never a secret
json issued_account_token_json(const IssuedAccountToken& t);         // {"id","token","expiresAt"?}
json repository_token_json(const RepositoryToken& t);                // listing: never a secret
json issued_repository_token_json(const IssuedRepositoryToken& t);   // {"id","token","name","createdAt","expiresAt"}
json member_json(const Member& m);      // Codacy's Person, plus "role"
json audit_json(const AuditEntry& e);  // Codacy's AuditLog, plus "id", "actorName", "target"
json policy_json(const TokenPolicy& p);

// {"data": value} with the status.
ApiResponse data_response(int status, json value);  // moved into the envelope, not copied
// A bare JSON body (createUserApiToken answers this way, as Codacy's spec says).
ApiResponse bare_response(int status, const json& value);
ApiResponse no_content();
// {"data": [...], "pagination": {"cursor"?, "limit", "total"}}.
ApiResponse list_response(json items, const std::optional<std::string>& cursor, int limit, std::int64_t total);

// Request bodies. `parse_body` accepts an empty body when not `required` (giving an empty object);
// anything but a JSON object is `invalid`. The field readers give `invalid` naming the field and the
// type expected; absent or null fields are nullopt.
Result<json> parse_body(std::string_view body, bool required);
Result<std::optional<std::string>> string_field(const json& body, const char* field);
Result<std::string> required_string_field(const json& body, const char* field);
Result<std::optional<bool>> bool_field(const json& body, const char* field);
Result<std::optional<std::int64_t>> int_field(const json& body, const char* field);

// For a list answered as a bare array (no envelope for the cursor): the `Link` header value
// `<path?query&cursor=...>; rel="next"` pointing at the next page, the request's other parameters kept.
std::string next_page_link(const ApiRequest& req, const std::string& cursor);

// A list of e-mail addresses that must be a JSON array of strings (`field` names it in errors: "the request body" or
// "field 'emails'"); `invalid` saying what was expected otherwise.
Result<std::vector<std::string>> email_list(const json& value, const char* field);

// The value of a query parameter (decoded), or nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view key);
// cursor & limit from the query, validated by the service.
Result<PageRequest> page_request(const ApiRequest& req);
// A numeric path parameter (tokenId, userId): `invalid` naming it when not a positive integer.
Result<Id> id_param(const std::string& text, const char* name);

// The response for a failed call.
template <class T>
ApiResponse failure(const Result<T>& r) {
  return error_response(r.error());
}

}  // namespace rt::server
