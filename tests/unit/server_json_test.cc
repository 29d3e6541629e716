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

TEST(RequestBody, AKeyTwiceAtAnyDepthIsRefusedNamingItsPath) {
  auto message = [](std::string_view body) {
    auto r = parse_body(body, true);
    return r.ok() ? std::string("accepted") : r.error().message;
  };
  EXPECT_EQ(message(R"({"isAdmin":false,"isAdmin":true})"),
            "the request body has the key \"isAdmin\" twice; send each key once");
  EXPECT_NE(message(R"({"a":{"b":[1,{"c":1}],"d":{"e":1,"e":2}}})").find("\"a.d.e\""), std::string::npos);
  EXPECT_NE(message(R"({"list":[{"k":1},[0,{"k":2,"k":3}]]})").find("\"list[1][1].k\""), std::string::npos);
  EXPECT_NE(message(R"({"x":1,"\u0078":2})").find("\"x\""), std::string::npos);  // escapes decode first
  // The same key in different objects, or keys that differ only in case, are fine.
  EXPECT_EQ(message(R"({"k":{"k":1},"l":[{"k":1},{"k":2}],"K":3})"), "accepted");
  EXPECT_EQ(message("{}"), "accepted");
  EXPECT_EQ(message("[1]"), "the request body must be a JSON object");
  EXPECT_EQ(message(R"({"a":1,"a")"), "the request body is not valid JSON");
}

}  // namespace
}  // namespace rt::server
