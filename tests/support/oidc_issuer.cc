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

}  // namespace rt::test
