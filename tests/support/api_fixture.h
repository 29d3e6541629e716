// Test harness: builds a small world on a running repotokensd through its public API (an instance admin,
// users, an organization, repositories, grants, tokens) and checks what the server answered (error
// envelopes); what it stored is read through support/test_backend.h. Shared by the integration tests of
// server and CLI.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/test_backend.h"

namespace rt::test {

struct TestUser {
  std::int64_t id = 0;
  std::string name;
  std::string token;  // an account API token (rtka_...)
};

struct World {
  TestUser admin;             // instance admin, created offline with `repotokensd admin create-user`
  std::string provider = "gh";
  std::string org;
  std::vector<std::string> repos;
};

// Creates an instance admin offline, then (as that admin, over HTTP) the organization provider/org and
// the repositories, all Private. Any failure is an ADD_FAILURE and a thrown std::runtime_error.
World bootstrap_world(ServerProcess& server, HttpClient& http, const std::string& org,
                      const std::vector<std::string>& repos, const std::string& provider = "gh");

// As `admin_token`: POST /admin/users then POST /admin/users/{id}/tokens. Throws on failure.
TestUser create_user(HttpClient& http, const std::string& admin_token, const std::string& name);

// As an org admin: POST /repositories (visibility Private unless given). Throws on failure.
void add_repository(HttpClient& http, const std::string& token, const std::string& provider, const std::string& org,
                    const std::string& repo, const std::string& visibility = "Private");
// PUT .../people/{userId} {"role"}; PUT .../repositories/{repo}/people/{userId} {"permission"}. Throw on failure.
void set_org_role(HttpClient& http, const std::string& token, const std::string& provider, const std::string& org,
                  std::int64_t user_id, const std::string& role);
void grant_permission(HttpClient& http, const std::string& token, const std::string& provider, const std::string& org,
                      const std::string& repo, std::int64_t user_id, const std::string& permission);

struct IssuedToken {
  std::int64_t id = 0;
  std::string secret;
};
// POST .../repositories/{repo}/tokens with `body` (may be null); throws unless 201.
IssuedToken create_repository_token(HttpClient& http, const std::string& token, const std::string& provider,
                                    const std::string& org, const std::string& repo,
                                    const nlohmann::json& body = nullptr);

// "/api/v3/organizations/{provider}/{org}" and ".../repositories/{repo}" (names used as given, unencoded).
std::string org_path(const std::string& provider, const std::string& org);
std::string repo_path(const std::string& provider, const std::string& org, const std::string& repo);
// Percent-encodes everything but unreserved characters (RFC 3986), for names in paths and queries.
std::string url_encode(const std::string& text);

// Follows every page of a GET list endpoint (appending cursor= to `path`, which may already hold a query;
// for a bare-array list, following its `Link: <...>; rel="next"` header) and returns all the items. Fails the test on a non-200 answer or on more than `max_pages` pages.
std::vector<nlohmann::json> walk_all(HttpClient& http, const std::string& path, const std::string& token,
                                     int max_pages = 1000);

// The v3 error envelope: the status is `status`, the body is JSON with string "error" and "message";
// for the statuses with a documented Kind (400, 401, 403, 404, 409, 429) "error" is that Kind.
// Returns a gtest assertion result so the caller's line is reported.
::testing::AssertionResult IsApiError(const HttpResponse& r, long status);

// Polls `probe` every 50 ms until it returns true or `limit` passes; returns its last answer.
template <class F>
bool eventually(F probe, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return probe();
}

// RFC 3339 UTC of now + `seconds`.
std::string rfc3339_from_now(std::int64_t seconds);

}  // namespace rt::test
