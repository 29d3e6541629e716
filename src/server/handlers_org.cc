// Handlers for organizations: get/add, people and their roles, the token policy, the audit log.
#include <climits>

#include <nlohmann/json.hpp>

#include "server/handlers.h"
#include "server/json_page.h"

namespace rt::server {

ApiResponse get_organization(Service& service, const Principal& p, const ApiRequest& req) {
  auto m = service.get_organization(p, org_ref(req));
  if (!m) return failure(m);
  // An instance admin who is not a member still has every right on it: reported as admin.
  OrgRole role = m->role.value_or(OrgRole::admin);
  // Codacy requires the two last fields; repotokensd analyses nothing and bills nothing: only admins
  // configure a repository here, and there are no product subscriptions (docs/compatibility-notes.md).
  json data = {{"organization", organization_json(m->organization)},
               {"membership", {{"userRole", org_role_name(role)}}},
               {"analysisConfigurationMinimumPermission", "admin"},
               {"subscriptions", json::array()}};
  return data_response(200, data);
}

ApiResponse add_organization(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  AddOrganizationRequest add;
  auto provider = required_string_field(*body, "provider");
  if (!provider) return failure(provider);
  auto name = required_string_field(*body, "name");
  if (!name) return failure(name);
  auto remote = string_field(*body, "remoteIdentifier");
  if (!remote) return failure(remote);
  auto type = string_field(*body, "type");
  if (!type) return failure(type);
  add.provider = std::move(*provider);
  add.name = std::move(*name);
  add.remote_identifier = std::move(*remote);
  add.type = std::move(*type);
  auto org = service.add_organization(p, add);
  if (!org) return failure(org);
  // Codacy's AddOrganizationResponse: bare, status 200.
  return bare_response(200, json{{"organization", organization_json(*org, OrgRole::admin, true)},
                                 {"warnings", json::array()}});
}

ApiResponse list_people(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  auto people = service.list_people(p, org_ref(req), query_param(req.query, "search").value_or(""), *page);
  if (!people) return failure(people);
  return render_page(*people, member_json);
}

ApiResponse add_people(Service& service, const Principal& p, const ApiRequest& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return error_response(make_error(ErrorKind::invalid, "the request body is not valid JSON"));
  auto emails = email_list(body, "the request body");
  if (!emails) return failure(emails);
  auto done = service.add_people(p, org_ref(req), *emails);
  if (!done) return failure(done);
  return no_content();
}

ApiResponse remove_people(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto it = body->find("emails");
  if (it == body->end())
    return error_response(make_error(ErrorKind::invalid, "field 'emails' is required (an array of e-mail addresses)"));
  auto emails = email_list(*it, "field 'emails'");
  if (!emails) return failure(emails);
  auto outcome = service.remove_people(p, org_ref(req), *emails);
  if (!outcome) return failure(outcome);
  json success = json::array(), failed = json::array();
  for (const auto& email : outcome->removed) success.push_back({{"email", email}});
  for (const auto& [email, why] : outcome->failed) failed.push_back({{"email", email}, {"error", why}});
  return bare_response(200, json{{"success", std::move(success)}, {"failed", std::move(failed)}});
}

ApiResponse set_member_role(Service& service, const Principal& p, const ApiRequest& req) {
  auto user_id = id_param(req.params.at(2), "userId");
  if (!user_id) return failure(user_id);
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto role = required_string_field(*body, "role");
  if (!role) return failure(role);
  auto done = service.set_member_role(p, org_ref(req), *user_id, *role);
  if (!done) return failure(done);
  return no_content();
}

ApiResponse remove_member(Service& service, const Principal& p, const ApiRequest& req) {
  auto user_id = id_param(req.params.at(2), "userId");
  if (!user_id) return failure(user_id);
  auto done = service.remove_member(p, org_ref(req), *user_id);
  if (!done) return failure(done);
  return no_content();
}

ApiResponse get_token_policy(Service& service, const Principal& p, const ApiRequest& req) {
  auto policy = service.get_token_policy(p, org_ref(req));
  if (!policy) return failure(policy);
  return data_response(200, policy_json(*policy));
}

namespace {
// A lifetime field of the policy body; absent keeps `current`.
Result<int> lifetime_field(const json& body, const char* field, int current) {
  RT_TRY(auto value, int_field(body, field));
  if (!value) return current;
  if (*value < INT_MIN || *value > INT_MAX)
    return make_error(ErrorKind::invalid, std::string("field '") + field + "' must be between 1 and 365");
  return static_cast<int>(*value);
}
}  // namespace

// Fields left out keep their current value.
ApiResponse set_token_policy(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto current = service.get_token_policy(p, org_ref(req));
  if (!current) return failure(current);
  auto default_days = lifetime_field(*body, "defaultLifetimeDays", current->default_lifetime_days);
  if (!default_days) return failure(default_days);
  auto max_days = lifetime_field(*body, "maxLifetimeDays", current->max_lifetime_days);
  if (!max_days) return failure(max_days);
  auto warning_days = lifetime_field(*body, "expiryWarningDays", current->expiry_warning_days);
  if (!warning_days) return failure(warning_days);
  TokenPolicy policy{*default_days, *max_days, *warning_days};
  auto saved = service.set_token_policy(p, org_ref(req), policy);
  if (!saved) return failure(saved);
  return data_response(200, policy_json(*saved));
}

ApiResponse list_audit(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  auto events = service.list_audit(p, org_ref(req), query_param(req.query, "from"), query_param(req.query, "to"), *page);
  if (!events) return failure(events);
  // Codacy's answer is a bare array: the next page is announced in a Link header (RFC 8288), and the
  // count over all pages in X-Total-Count.
  json items = json::array();
  for (const auto& e : events->items) items.push_back(audit_json(e));
  ApiResponse r = bare_response(200, items);
  if (events->cursor) r.headers.emplace_back("Link", next_page_link(req, *events->cursor));
  r.headers.emplace_back("X-Total-Count", std::to_string(events->total));
  return r;
}

}  // namespace rt::server
