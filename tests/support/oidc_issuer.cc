// The test OIDC issuer's process and its control endpoints (see oidc_issuer.h and the script).
#include "support/oidc_issuer.h"

#include <gtest/gtest.h>

namespace rt::test {

OidcIssuer::OidcIssuer() {
  process_ = start_python_server("the test OIDC issuer",
                                 std::string(REPOTOKENS_SOURCE_DIR) + "/tests/oidc_issuer/oidc_issuer.py", {});
  http_ = std::make_unique<HttpClient>(url());
}

OidcIssuer::~OidcIssuer() { stop_python_server(process_); }

std::string OidcIssuer::url() const { return "http://127.0.0.1:" + std::to_string(process_.port); }

std::string OidcIssuer::sign(const SignRequest& r) {
  nlohmann::json body = {{"claims", r.claims}, {"key", r.key}, {"tamper", r.tamper}};
  if (!r.alg.empty()) body["alg"] = r.alg;
  auto answer = http_->request("POST", "/_issuer/sign", body.dump(), {"Content-Type: application/json"});
  EXPECT_EQ(answer.status, 200) << answer.body;
  return answer.json().value("jwt", "");
}

void OidcIssuer::rotate() {
  auto answer = http_->request("POST", "/_issuer/rotate", "{}", {"Content-Type: application/json"});
  EXPECT_EQ(answer.status, 200) << answer.body;
}

void OidcIssuer::set_down(bool down) {
  auto answer = http_->request("POST", "/_issuer/down", nlohmann::json{{"down", down}}.dump(),
                               {"Content-Type: application/json"});
  EXPECT_EQ(answer.status, 200) << answer.body;
}

long OidcIssuer::jwks_fetches() {
  auto answer = http_->get("/_issuer/state");
  EXPECT_EQ(answer.status, 200) << answer.body;
  return answer.json().value("jwks_fetches", 0L);
}

void OidcIssuer::arm_actions(const std::string& request_token, const nlohmann::json& claims) {
  auto answer = http_->request("POST", "/_issuer/actions",
                               nlohmann::json{{"request_token", request_token}, {"claims", claims}}.dump(),
                               {"Content-Type: application/json"});
  EXPECT_EQ(answer.status, 200) << answer.body;
}

std::string OidcIssuer::actions_request_url() const { return url() + "/_actions/idtoken?api-version=2.0"; }

std::vector<std::string> OidcIssuer::actions_audiences() {
  auto answer = http_->get("/_issuer/state");
  EXPECT_EQ(answer.status, 200) << answer.body;
  std::vector<std::string> out;
  for (const auto& a : answer.json().value("actions_audiences", nlohmann::json::array())) out.push_back(a.get<std::string>());
  return out;
}

}  // namespace rt::test
