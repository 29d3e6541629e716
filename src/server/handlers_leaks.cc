// Handlers for leaked tokens (API.md "Leaked tokens"): POST /tokens/revoke for anyone holding a secret,
// GitHub secret scanning's signed alerts, and GitLab's token revocation API. They read the body, let the
// service admit the scanner and revoke, and answer without saying whether a secret matched (except the
// label GitHub's protocol asks for, which only a request GitHub signed gets).
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "server/handlers.h"
#include "server/json_io.h"

namespace rt::server {
namespace {

constexpr std::string_view kAccountTokenType = "repotokens_account_token";
constexpr std::string_view kRepositoryTokenType = "repotokens_repository_token";

// An optional string member of a batch entry; `invalid` naming the entry when it is not a string.
Result<std::string> optional_text(const json& entry, const char* field, size_t index) {
  auto it = entry.find(field);
  if (it == entry.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return make_error(ErrorKind::invalid, fmt::format("entry {} of the request body: '{}' must be a string", index, field));
  return it->get<std::string>();
}

// A scanner's batch: a JSON array of 1..kMaxLeakBatch objects, each with a string "token" and optional string
// `location_field`, "source" and "type" members. Errors name the entry, never its token.
struct ParsedBatch {
  std::vector<LeakReport> reports;
  std::vector<std::string> types;  // as reported, "" when absent
};
Result<ParsedBatch> parse_batch(std::string_view body, const char* shape, const char* location_field) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_array())
    return make_error(ErrorKind::invalid, fmt::format("the request body must be a JSON array of {}", shape));
  if (doc.empty() || doc.size() > kMaxLeakBatch)
    return make_error(ErrorKind::invalid,
                      fmt::format("the request body must list 1 to {} tokens; it lists {}", kMaxLeakBatch, doc.size()));
  ParsedBatch batch;
  batch.reports.reserve(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    const json& entry = doc[i];
    if (!entry.is_object() || !entry.contains("token") || !entry["token"].is_string())
      return make_error(ErrorKind::invalid, fmt::format("entry {} of the request body must be an object with a string "
                                                        "'token' ({})", i, shape));
    LeakReport r;
    r.token = entry["token"].get<std::string>();
    RT_TRY(r.location, optional_text(entry, location_field, i));
    RT_TRY(r.source, optional_text(entry, "source", i));
    RT_TRY(std::string type, optional_text(entry, "type", i));
    batch.reports.push_back(std::move(r));
    batch.types.push_back(std::move(type));
  }
  return batch;
}

}  // namespace

ApiResponse revoke_leaked_token(Service& service, const Principal&, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto token = required_string_field(*body, "token");
  if (!token) return failure(token);
  auto location = string_field(*body, "location");
  if (!location) return failure(location);
  auto source = string_field(*body, "source");
  if (!source) return failure(source);
  const LeakReport report{std::move(*token), location->value_or(""), source->value_or("")};
  auto done = service.revoke_leaked(LeakChannel::anyone, {&report, 1});
  if (!done) return failure(done);
  return no_content();  // whether or not it matched
}

ApiResponse github_secret_scanning_alert(Service& service, const Principal&, const ApiRequest& req) {
  // The signature first, over the raw bytes: nothing of an unsigned body is parsed or acted on.
  auto caller = service.check_github_caller(req.header("Github-Public-Key-Identifier"),
                                            req.header("Github-Public-Key-Signature"), req.body);
  if (!caller) return failure(caller);
  auto batch = parse_batch(req.body, "{\"token\", \"type\", \"url\", \"source\"} objects", "url");
  if (!batch) return failure(batch);
  auto verdicts = service.revoke_leaked(LeakChannel::github, batch->reports);
  if (!verdicts) return failure(verdicts);
  json out = json::array();
  for (size_t i = 0; i < verdicts->size(); ++i) {
    const LeakReport& r = batch->reports[i];
    std::string type = batch->types[i];
    if (type.empty())
      type = r.token.starts_with(kAccountTokenPrefix) ? kAccountTokenType : kRepositoryTokenType;
    out.push_back({{"token_raw", r.token},
                   {"token_type", std::move(type)},
                   {"label", (*verdicts)[i] == LeakVerdict::revoked ? "true_positive" : "false_positive"}});
  }
  return bare_response(200, out);
}

ApiResponse gitlab_revocable_token_types(Service& service, const Principal&, const ApiRequest& req) {
  auto caller = service.check_gitlab_caller(req.header("Authorization"));
  if (!caller) return failure(caller);
  return bare_response(200, json{{"types", {kAccountTokenType, kRepositoryTokenType}}});
}

ApiResponse gitlab_revoke_tokens(Service& service, const Principal&, const ApiRequest& req) {
  auto caller = service.check_gitlab_caller(req.header("Authorization"));
  if (!caller) return failure(caller);
  // The reported type is not trusted: each token's own prefix says which kind it is.
  auto batch = parse_batch(req.body, "{\"type\", \"token\", \"location\"} objects", "location");
  if (!batch) return failure(batch);
  auto done = service.revoke_leaked(LeakChannel::gitlab, batch->reports);
  if (!done) return failure(done);
  return no_content();
}

}  // namespace rt::server
