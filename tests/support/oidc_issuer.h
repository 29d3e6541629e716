// Test harness: a test OIDC issuer for secretless CI (tests/oidc_issuer/oidc_issuer.py, a real HTTP server
// on a loopback port chosen at run time) serving discovery and JWKS with RSA and EC P-256 keys generated at
// start, and signing job tokens on request: validly, with an unpublished key, as alg none, as HS256 keyed
// with the public key, or tampered after signing.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http_client.h"
#include "support/python_server.h"

namespace rt::test {

struct SignRequest {
  nlohmann::json claims;
  std::string key = "rsa";  // "rsa", "ec" or "unpublished"
  std::string alg;          // "" (the key's own), "none" or "HS256"
  bool tamper = false;      // change repository_id after signing
};

class OidcIssuer {
 public:
  OidcIssuer();  // fails the test (ADD_FAILURE + throws) when the script cannot run
  ~OidcIssuer();
  OidcIssuer(const OidcIssuer&) = delete;
  OidcIssuer& operator=(const OidcIssuer&) = delete;

  std::string url() const;  // "http://127.0.0.1:PORT": the iss of its tokens
  std::string sign(const SignRequest& request);
  void rotate();                // a new RSA key replaces the published one
  void set_down(bool down);     // discovery and JWKS answer 503 while down
  long jwks_fetches();
  // Arms the stand-in of GitHub Actions' ID-token endpoint: a GET of actions_request_url() with
  // "Authorization: bearer <request_token>" and `audience=` answers {"value": JWT of `claims`}.
  void arm_actions(const std::string& request_token, const nlohmann::json& claims);
  std::string actions_request_url() const;  // as ACTIONS_ID_TOKEN_REQUEST_URL (already holds a query)
  std::vector<std::string> actions_audiences();  // the audience of each ID token it handed out

 private:
  PythonServer process_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace rt::test
