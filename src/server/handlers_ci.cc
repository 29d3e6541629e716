// Handlers for secretless CI (API.md "Secretless CI"): a repository's trust rules (repository admin) and
// the exchange of a CI job's OIDC token for a short-lived repository token (no credential: the signed JWT
// is one). Bodies are read field by field here; every rule of the contract is the service's.
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "server/handlers.h"
#include "server/json_io.h"

namespace rt::server {
namespace {

json rule_json(const CiTrustRule& r, const std::string& default_audience) {
  json claims = json::parse(r.claims_json, nullptr, false);
  return json{{"id", r.id},
              {"issuer", r.issuer},
              {"audience", r.audience.empty() ? default_audience : r.audience},
              {"claims", claims.is_object() ? claims : json::object()},
              {"lifetimeMinutes", r.lifetime_minutes},
              {"bindsOnlyNames", r.binds_only_names},
              {"createdAt", format_rfc3339(r.created_at)},
              {"createdBy", r.created_by}};
}

Error bad_field(std::string message) { return make_error(ErrorKind::invalid, std::move(message)); }

}  // namespace

ApiResponse list_ci_trust_rules(Service& service, const Principal& p, const ApiRequest& req) {
  auto rules = service.list_ci_trust_rules(p, repo_ref(req));
  if (!rules) return failure(rules);
  json items = json::array();
  for (const CiTrustRule& r : *rules) items.push_back(rule_json(r, service.ci_default_audience()));
  return data_response(200, std::move(items));
}

ApiResponse add_ci_trust_rule(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto issuer = required_string_field(*body, "issuer");
  if (!issuer) return failure(issuer);
  auto audience = string_field(*body, "audience");
  if (!audience) return failure(audience);
  auto lifetime = int_field(*body, "lifetimeMinutes");
  if (!lifetime) return failure(lifetime);
  auto names_only = bool_field(*body, "bindsOnlyNames");
  if (!names_only) return failure(names_only);
  CiTrustRuleRequest rule;
  rule.issuer = std::move(*issuer);
  rule.audience = std::move(*audience);
  rule.lifetime_minutes = *lifetime;
  rule.binds_only_names = names_only->value_or(false);
  auto claims = body->find("claims");
  if (claims == body->end() || !claims->is_object())
    return error_response(bad_field("field 'claims' is required: an object of claim names to values or globs, "
                                    "e.g. {\"repository_id\": \"123\", \"ref\": \"refs/heads/*\"}"));
  for (auto it = claims->begin(); it != claims->end(); ++it) {
    const json& v = it.value();
    if (v.is_string()) rule.claims.emplace_back(it.key(), v.get<std::string>());
    else if (v.is_number_integer() || v.is_number_unsigned()) rule.claims.emplace_back(it.key(), v.dump());
    else
      return error_response(bad_field(fmt::format("field 'claims': the value of '{}' must be a string (or an integer id)",
                                                  it.key().substr(0, 100))));
  }
  auto added = service.add_ci_trust_rule(p, repo_ref(req), rule);
  if (!added) return failure(added);
  return data_response(201, rule_json(*added, service.ci_default_audience()));
}

ApiResponse delete_ci_trust_rule(Service& service, const Principal& p, const ApiRequest& req) {
  auto id = id_param(req.params.at(3), "ruleId");
  if (!id) return failure(id);
  auto done = service.delete_ci_trust_rule(p, repo_ref(req), *id);
  if (!done) return failure(done);
  return no_content();
}

ApiResponse exchange_ci_token(Service& service, const Principal&, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto jwt = required_string_field(*body, "jwt");
  if (!jwt) return failure(jwt);
  auto exchanged = service.exchange_ci_token(*jwt);
  if (!exchanged) return failure(exchanged);
  const Repository& r = exchanged->repository;
  return data_response(201, json{{"token", exchanged->issued.secret},
                                 {"expiresAt", format_rfc3339(exchanged->issued.token.expires_at)},
                                 {"name", exchanged->issued.token.name},
                                 {"repository", {{"provider", std::string(provider_code(r.provider))},
                                                 {"owner", r.owner},
                                                 {"name", r.name}}}});
}

}  // namespace rt::server
