// Wire shapes of the domain types and the v3 envelopes, and request-body validation (see json_io.h).
#include "server/json_io.h"
#include "server/router.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rt::server {

// Codacy requires mainEmail, otherEmails and isActive: a user without an address has "" and no other
// addresses, and every user is active (repotokensd has no deactivated users).
json user_json(const User& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"mainEmail", u.email.value_or("")},
          {"otherEmails", json::array()},
          {"isAdmin", u.is_admin},
          {"isActive", true},
          {"created", format_rfc3339(u.created_at)}};
}

json organization_json(const Organization& o, std::optional<OrgRole> role, bool member) {
  json j = {{"identifier", o.id},
            {"remoteIdentifier", o.remote_identifier},
            {"name", o.name},
            {"provider", provider_code(o.provider)},
            {"type", org_type_name(o.type)},
            {"created", format_rfc3339(o.created_at)},
            // No provider sign-in, no DAST, no SCA in repotokensd (docs/compatibility-notes.md).
            {"singleProviderLogin", false},
            {"hasDastAccess", false},
            {"hasScaEnabled", false}};
  if (member) j["joinStatus"] = "member";
  if (role) j["userRole"] = org_role_name(*role);
  return j;
}

// Repositories are the hottest thing rendered (getRepository with a project token), so their JSON is
// written directly as text rather than built as a json object (a std::map node per field) and dumped.
std::string repository_json_text(const Repository& r, std::optional<Permission> permission) {
  std::string out;
  out.reserve(320 + r.name.size() * 2 + r.owner.size() * 2 + r.remote_identifier.size());
  auto field = [&out](std::string_view key) {
    out += out.size() > 1 ? ",\"" : "\"";
    out += key;
    out += "\":";
  };
  auto text = [&out](std::string_view value) {
    out += '"';
    for (unsigned char c : value) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        out += fmt::format("\\u{:04x}", c);
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  };
  out += '{';
  field("repositoryId");
  out += std::to_string(r.id);
  field("provider");
  text(provider_code(r.provider));
  field("owner");
  text(r.owner);
  field("name");
  text(r.name);
  field("fullPath");
  text(r.owner + "/" + r.name);
  field("visibility");
  text(visibility_name(r.visibility));
  if (!r.remote_identifier.empty()) {
    field("remoteIdentifier");
    text(r.remote_identifier);
  }
  if (r.updated_at > 0) {
    field("lastUpdated");
    text(format_rfc3339(r.updated_at));
  }
  if (permission) {
    field("permission");
    text(permission_name(*permission));
  }
  field("problems");
  out += "[]";
  field("languages");
  out += '[';
  for (size_t i = 0; i < r.languages.size(); ++i) {
    if (i) out += ',';
    text(r.languages[i]);
  }
  out += ']';
  field("standards");
  out += "[]";
  field("addedState");
  text("Added");
  out += '}';
  return out;
}

json repository_json(const Repository& r, std::optional<Permission> permission) {
  return json::parse(repository_json_text(r, permission));  // one renderer: the text one
}

ApiResponse repository_response(int status, const Repository& r, std::optional<Permission> permission, bool wrapped) {
  ApiResponse resp;
  resp.status = status;
  resp.body = wrapped ? "{\"data\":" + repository_json_text(r, permission) + "}" : repository_json_text(r, permission);
  return resp;
}

json account_token_json(const AccountToken& t) {
  json j = {{"id", t.id}, {"createdAt", format_rfc3339(t.created_at)}};
  if (t.expires_at) j["expiresAt"] = format_rfc3339(*t.expires_at);
  if (t.last_used_at) j["lastUsedAt"] = format_rfc3339(*t.last_used_at);
  return j;
}

json issued_account_token_json(const IssuedAccountToken& t) {
  json j = {{"id", t.token.id}, {"token", t.secret}};
  if (t.token.expires_at) j["expiresAt"] = format_rfc3339(*t.token.expires_at);
  return j;
}

json repository_token_json(const RepositoryToken& t) {
  json j = {{"id", t.id}, {"name", t.name}, {"createdAt", format_rfc3339(t.created_at)}};
  if (t.expires_at > 0) j["expiresAt"] = format_rfc3339(t.expires_at);
  if (t.last_used_at) j["lastUsedAt"] = format_rfc3339(*t.last_used_at);
  if (t.created_by) j["createdBy"] = *t.created_by;  // a repotokens extension field
  return j;
}

json issued_repository_token_json(const IssuedRepositoryToken& t) {
  return {{"id", t.token.id},
          {"token", t.secret},
          {"name", t.token.name},
          {"createdAt", format_rfc3339(t.token.created_at)},
          {"expiresAt", format_rfc3339(t.token.expires_at)}};
}

// Codacy's Person, plus our `role`. Every member can be removed (repotokensd has no provider-managed
// memberships); `email` is Codacy's deprecated single address, `emails` its list.
json member_json(const Member& m) {
  json emails = json::array();
  if (m.user.email) emails.push_back(*m.user.email);
  return {{"userId", m.user.id},
          {"name", m.user.name},
          {"email", m.user.email.value_or("")},
          {"emails", std::move(emails)},
          {"canBeRemoved", true},
          {"role", org_role_name(m.role)}};
}

namespace {
std::string_view audit_role_name(OrgRole r) { return r == OrgRole::admin ? "organizationAdmin" : "organizationMember"; }
}  // namespace

// Codacy's AuditLog. Only what happened is logged (in the transaction that did it), so `result` is always
// "succeed"; every change arrives through the API. `id`, `actorName` and `target` are ours.
json audit_json(const AuditEntry& entry) {
  const AuditEvent& e = entry.event;
  json actor = {{"email", entry.actor_email}};
  if (entry.actor_role) actor["role"] = audit_role_name(*entry.actor_role);
  json j = {{"id", e.id},
            {"actor", std::move(actor)},
            {"actorName", e.actor},
            {"action", e.action},
            {"result", "succeed"},
            {"timestamp", format_rfc3339(e.at)},
            {"source", "API"},
            {"description", e.details.empty() ? e.target : e.target + ": " + e.details},
            {"target", e.target}};
  if (!entry.repository.empty()) j["repositoryName"] = entry.repository;
  return j;
}

json policy_json(const TokenPolicy& p) {
  return {{"defaultLifetimeDays", p.default_lifetime_days},
          {"maxLifetimeDays", p.max_lifetime_days},
          {"expiryWarningDays", p.expiry_warning_days}};
}

ApiResponse data_response(int status, json value) {
  json envelope = json::object();
  envelope["data"] = std::move(value);
  return bare_response(status, envelope);
}

ApiResponse bare_response(int status, const json& value) {
  ApiResponse r;
  r.status = status;
  r.body = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

int status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid: return 400;
    case ErrorKind::unauthorized: return 401;
    case ErrorKind::expired: return 401;
    case ErrorKind::forbidden: return 403;
    case ErrorKind::not_found: return 404;
    case ErrorKind::conflict: return 409;
    case ErrorKind::unprocessable: return 422;
    case ErrorKind::too_large: return 413;
    case ErrorKind::throttled: return 429;
    case ErrorKind::unavailable: return 503;
    case ErrorKind::internal: return 500;
  }
  return 500;
}

ApiResponse error_response(const Error& error) {
  return error_response(status_of(error.kind), error_kind_name(error.kind), error.message);
}

ApiResponse error_response(int status, std::string_view kind_name, std::string_view message) {
  json body = {{"error", kind_name}, {"message", message}, {"actions", json::array()}};
  // Codacy's Unauthorized schema requires a `code` beside `error` (both "Unauthorized").
  if (status == 401) body["code"] = kind_name;
  return bare_response(status, body);
}

ApiResponse no_content() {
  ApiResponse r;
  r.status = 204;
  return r;
}

ApiResponse list_response(json items, const std::optional<std::string>& cursor, int limit, std::int64_t total) {
  json pagination = json::object();
  if (cursor) pagination["cursor"] = *cursor;
  pagination["limit"] = limit;
  pagination["total"] = total;
  json envelope = {{"data", std::move(items)}, {"pagination", std::move(pagination)}};
  return bare_response(200, envelope);
}

namespace {

// A parser callback that notes the first key an object holds twice, with its path ("extra.b.c",
// "list[1].k"). nlohmann keeps the last of the two; a request must not leave the server to pick one.
struct DuplicateKeys {
  struct Level {
    bool object = false;
    std::vector<std::string> keys;  // object: the keys so far
    long index = -1;                // array: the element being read
  };
  std::vector<Level> levels;
  std::optional<std::string> found;

  bool operator()(int, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        next_element();
        levels.push_back(Level{.object = event == E::object_start, .keys = {}, .index = -1});
        break;
      case E::object_end:
      case E::array_end:
        if (!levels.empty()) levels.pop_back();
        break;
      case E::key: {
        Level& level = levels.back();
        std::string key = parsed.get<std::string>();
        if (!found && std::find(level.keys.begin(), level.keys.end(), key) != level.keys.end()) found = path_of(key);
        level.keys.push_back(std::move(key));
        break;
      }
      case E::value:
        next_element();
        break;
    }
    return true;
  }
  void next_element() {
    if (!levels.empty() && !levels.back().object) ++levels.back().index;
  }
  // The path of `key` in the current object: "extra.b.c", "list[1].k", or the key itself at the top.
  std::string path_of(const std::string& key) const {
    std::string out;
    for (size_t i = 0; i + 1 < levels.size(); ++i) {
      if (!levels[i].object) {
        out += "[" + std::to_string(levels[i].index) + "]";
      } else {
        if (!out.empty()) out += '.';
        out += levels[i].keys.back();
      }
    }
    return out.empty() ? key : out + "." + key;
  }
};

}  // namespace

Result<json> parse_body(std::string_view body, bool required) {
  bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank) {
    if (required) return make_error(ErrorKind::invalid, "a JSON object body is required");
    return json::object();
  }
  DuplicateKeys duplicates;
  json j = json::parse(body, std::ref(duplicates), false);
  if (j.is_discarded()) return make_error(ErrorKind::invalid, "the request body is not valid JSON");
  if (duplicates.found)
    return make_error(ErrorKind::invalid, fmt::format("the request body has the key \"{}\" twice; send each key once",
                                                      *duplicates.found));
  if (!j.is_object()) return make_error(ErrorKind::invalid, "the request body must be a JSON object");
  return j;
}

namespace {

const json* find_field(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

Error wrong_type(const char* field, const char* expected) {
  return make_error(ErrorKind::invalid, std::string("field '") + field + "' must be " + expected);
}

}  // namespace

Result<std::optional<std::string>> string_field(const json& body, const char* field) {
  const json* v = find_field(body, field);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return wrong_type(field, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::string> required_string_field(const json& body, const char* field) {
  RT_TRY(auto value, string_field(body, field));
  if (!value) return make_error(ErrorKind::invalid, std::string("field '") + field + "' is required (a string)");
  return std::move(*value);
}

Result<std::optional<bool>> bool_field(const json& body, const char* field) {
  const json* v = find_field(body, field);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) return wrong_type(field, "a boolean");
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<std::int64_t>> int_field(const json& body, const char* field) {
  const json* v = find_field(body, field);
  if (!v) return std::optional<std::int64_t>();
  if (v->is_number_integer()) return std::optional<std::int64_t>(v->get<std::int64_t>());
  if (v->is_number_unsigned() && v->get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX))
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get<std::uint64_t>()));
  return wrong_type(field, "an integer");
}

// Hand-rolled on purpose: Boost.URL 1.81's pct_string_view::decode, linked from the packaged library,
// returned values padded with stale bytes here ("5" came back as "5wWU3..."), so query values are decoded
// with the router's percent_decode instead ('+' is a space in a query, as in HTML forms).
std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  std::string name;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string raw_key(pair.substr(0, eq));
    std::replace(raw_key.begin(), raw_key.end(), '+', ' ');
    if (!percent_decode(raw_key, name) || name != key) continue;
    std::string raw_value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    std::replace(raw_value.begin(), raw_value.end(), '+', ' ');
    std::string value;
    if (!percent_decode(raw_value, value)) value = raw_value;  // a stray '%' is kept as typed
    return value;
  }
  return std::nullopt;
}

std::string next_page_link(const ApiRequest& req, const std::string& cursor) {
  std::string query;
  std::string_view rest = req.query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty() || pair == "cursor" || pair.starts_with("cursor=")) continue;
    query.append(pair).push_back('&');
  }
  query += "cursor=";
  for (unsigned char c : cursor) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') query.push_back(static_cast<char>(c));
    else query += fmt::format("%{:02X}", c);
  }
  return fmt::format("<{}?{}>; rel=\"next\"", req.path, query);
}

Result<std::vector<std::string>> email_list(const json& value, const char* field) {
  auto wrong = [&] {
    return make_error(ErrorKind::invalid, fmt::format("{} must be a JSON array of e-mail addresses (strings), such as "
                                                      "[\"ada@example.com\"]", field));
  };
  if (!value.is_array()) return wrong();
  std::vector<std::string> out;
  for (const json& item : value) {
    if (!item.is_string()) return wrong();
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<PageRequest> page_request(const ApiRequest& req) {
  return make_page_request(query_param(req.query, "cursor"), query_param(req.query, "limit"));
}

Result<Id> id_param(const std::string& text, const char* name) {
  Id id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0)
    return make_error(ErrorKind::invalid, std::string(name) + " must be a positive integer");
  return id;
}

}  // namespace rt::server
