// Test harness: world building over the public API and checks of its error envelopes.
#include "support/api_fixture.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "core/time.h"

namespace rt::test {
namespace {

[[noreturn]] void fail(const std::string& what, const HttpResponse& r) {
  ADD_FAILURE() << what << ": HTTP " << r.status << " " << r.body;
  throw std::runtime_error(what);
}

void expect_status(const std::string& what, const HttpResponse& r, std::initializer_list<long> ok) {
  for (long s : ok)
    if (r.status == s) return;
  fail(what, r);
}

}  // namespace

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string org_path(const std::string& provider, const std::string& org) {
  return "/api/v3/organizations/" + provider + "/" + org;
}

std::string repo_path(const std::string& provider, const std::string& org, const std::string& repo) {
  return org_path(provider, org) + "/repositories/" + repo;
}

TestUser create_user(HttpClient& http, const std::string& admin_token, const std::string& name) {
  TestUser u;
  u.name = name;
  auto r = http.post("/api/v3/admin/users", {{"name", name}, {"email", name + "@example.test"}},
                     {api_token(admin_token)});
  expect_status("create user " + name, r, {201});
  u.id = r.json()["data"].value("id", std::int64_t{0});
  r = http.post("/api/v3/admin/users/" + std::to_string(u.id) + "/tokens", nlohmann::json::object(),
                {api_token(admin_token)});
  expect_status("issue a token for user " + name, r, {201});
  u.token = r.json()["data"].value("token", "");
  if (u.id == 0 || u.token.empty()) fail("user or token missing in the answers", r);
  return u;
}

void add_repository(HttpClient& http, const std::string& token, const std::string& provider, const std::string& org,
                    const std::string& repo, const std::string& visibility) {
  auto r = http.post("/api/v3/repositories",
                     {{"provider", provider}, {"repositoryFullPath", org + "/" + repo}, {"visibility", visibility}},
                     {api_token(token)});
  expect_status("add repository " + org + "/" + repo, r, {200});
}

void set_org_role(HttpClient& http, const std::string& token, const std::string& provider, const std::string& org,
                  std::int64_t user_id, const std::string& role) {
  auto r = http.put(org_path(provider, org) + "/people/" + std::to_string(user_id), {{"role", role}},
                    {api_token(token)});
  expect_status("set role " + role, r, {200, 201, 204});
}

void grant_permission(HttpClient& http, const std::string& token, const std::string& provider, const std::string& org,
                      const std::string& repo, std::int64_t user_id, const std::string& permission) {
  auto r = http.put(repo_path(provider, org, repo) + "/people/" + std::to_string(user_id),
                    {{"permission", permission}}, {api_token(token)});
  expect_status("grant " + permission + " on " + repo, r, {200, 201, 204});
}

IssuedToken create_repository_token(HttpClient& http, const std::string& token, const std::string& provider,
                                    const std::string& org, const std::string& repo, const nlohmann::json& body) {
  auto r = http.post(repo_path(provider, org, repo) + "/tokens", body.is_null() ? nlohmann::json::object() : body,
                     {api_token(token)});
  expect_status("create a token on " + repo, r, {201});
  auto data = r.json()["data"];
  IssuedToken t{data.value("id", std::int64_t{0}), data.value("token", "")};
  if (t.id == 0 || t.secret.empty()) fail("token id or secret missing", r);
  return t;
}

World bootstrap_world(ServerProcess& server, HttpClient& http, const std::string& org,
                      const std::vector<std::string>& repos, const std::string& provider) {
  World w;
  w.provider = provider;
  w.org = org;
  w.repos = repos;
  w.admin.name = "admin";
  w.admin.token = server.create_user_offline("admin", true);
  auto r = http.get("/api/v3/user", {api_token(w.admin.token)});
  expect_status("admin getUser", r, {200});
  w.admin.id = r.json()["data"].value("id", std::int64_t{0});
  r = http.post("/api/v3/organizations", {{"provider", provider}, {"name", org}}, {api_token(w.admin.token)});
  expect_status("add organization " + org, r, {200});
  for (const auto& repo : repos) add_repository(http, w.admin.token, provider, org, repo);
  return w;
}

std::vector<nlohmann::json> walk_all(HttpClient& http, const std::string& path, const std::string& token,
                                     int max_pages) {
  std::vector<nlohmann::json> items;
  std::string cursor, next;
  const char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (int page = 0; page < max_pages; ++page) {
    std::string url = !next.empty() ? next : cursor.empty() ? path : path + sep + "cursor=" + url_encode(cursor);
    auto r = http.get(url, {api_token(token)});
    // A check that walks a big world after a bulk run may meet the admin's rate limit: wait as a client
    // would (Retry-After), a bounded number of times, rather than fail the check.
    for (int wait = 0; r.status == 429 && wait < 50; ++wait) {
      const std::string after = r.header("retry-after");
      std::this_thread::sleep_for(std::chrono::milliseconds(after.empty() || after == "0" ? 200 : 1000 * std::stoi(after)));
      r = http.get(url, {api_token(token)});
    }
    expect_status("list " + url, r, {200});
    auto j = r.json();
    if (j.is_array()) {  // Codacy's bare lists (listAuditLogsForOrganization): the next page is in `Link`
      for (auto& item : j) items.push_back(item);
      const std::string link = r.header("link");
      if (link.empty()) return items;
      if (link.front() != '<' || link.find(">; rel=\"next\"") == std::string::npos) fail("malformed Link header", r);
      next = link.substr(1, link.find('>') - 1);
      continue;
    }
    for (auto& item : j["data"]) items.push_back(item);
    if (!j["pagination"].contains("cursor")) return items;
    cursor = j["pagination"]["cursor"].get<std::string>();
  }
  ADD_FAILURE() << "listing " << path << " did not end within " << max_pages << " pages";
  return items;
}

::testing::AssertionResult IsApiError(const HttpResponse& r, long status) {
  static const std::map<long, std::string> kinds = {{400, "BadRequest"}, {401, "Unauthorized"}, {403, "Forbidden"},
                                                    {404, "NotFound"},   {409, "Conflict"},     {429, "TooManyRequests"}};
  if (r.status != status)
    return ::testing::AssertionFailure() << "expected HTTP " << status << ", got " << r.status << ": " << r.body;
  auto j = r.json();
  if (!j.is_object() || !j.contains("error") || !j["error"].is_string() || !j.contains("message") ||
      !j["message"].is_string())
    return ::testing::AssertionFailure() << "HTTP " << status << " without a JSON error envelope: " << r.body;
  auto kind = kinds.find(status);
  if (kind != kinds.end() && j["error"] != kind->second)
    return ::testing::AssertionFailure() << "error kind " << j["error"] << " for HTTP " << status << ", expected "
                                         << kind->second << ": " << r.body;
  if (j["message"].get<std::string>().empty()) return ::testing::AssertionFailure() << "empty message: " << r.body;
  return ::testing::AssertionSuccess();
}

std::string rfc3339_from_now(std::int64_t seconds) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return rt::format_rfc3339(now.count() + seconds);
}

}  // namespace rt::test
