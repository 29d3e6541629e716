// The repository renderer writes JSON text by hand (it is the hottest response): it must stay valid JSON
// with the API.md shape whatever the strings contain.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/json_io.h"

namespace rt::server {
namespace {

TEST(RepositoryJson, EscapesEveryStringAndKeepsTheShape) {
  Repository r;
  r.id = 42;
  r.provider = Provider::gle;
  r.owner = "acme";
  r.name = "api";
  r.visibility = Visibility::LoginPublic;
  r.remote_identifier = "acme/api";
  r.updated_at = 1801396800;
  r.languages = {"C++", "quote\"back\\slash", std::string("ctl\x01\n", 5), "ünï"};
  auto j = nlohmann::json::parse(repository_json_text(r, Permission::write));
  EXPECT_EQ(j["repositoryId"], 42);
  EXPECT_EQ(j["provider"], "gle");
  EXPECT_EQ(j["fullPath"], "acme/api");
  EXPECT_EQ(j["visibility"], "LoginPublic");
  EXPECT_EQ(j["lastUpdated"], "2027-01-31T12:00:00Z");
  EXPECT_EQ(j["permission"], "write");
  EXPECT_EQ(j["languages"], nlohmann::json(r.languages));
  EXPECT_EQ(j["problems"], nlohmann::json::array());
  EXPECT_EQ(j["addedState"], "Added");
  EXPECT_FALSE(j.contains("token"));
  r.remote_identifier.clear();
  r.languages.clear();
  auto k = nlohmann::json::parse(repository_json_text(r));
  EXPECT_FALSE(k.contains("permission"));
  EXPECT_FALSE(k.contains("remoteIdentifier"));
  EXPECT_EQ(k["languages"], nlohmann::json::array());
  auto resp = repository_response(201, r);
  EXPECT_EQ(resp.status, 201);
  EXPECT_EQ(nlohmann::json::parse(resp.body)["data"]["name"], "api");
}

}  // namespace
}  // namespace rt::server
