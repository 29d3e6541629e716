// Requesting the job's ID token from GitHub Actions' runner endpoint, with the client's retry policy.
#include "client/ci_id_token.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "client/retry_policy.h"

namespace rt::client {

Result<std::string> request_github_id_token(const ConnectionSettings& settings, const std::string& request_url,
                                            const std::string& request_token, const std::string& audience) {
  const std::string url =
      request_url + (request_url.find('?') == std::string::npos ? "?" : "&") + "audience=" + encode_path_segment(audience);
  const std::vector<std::string> headers{"Authorization: bearer " + request_token, "Accept: application/json"};
  HttpTransport transport(settings);
  RetryPolicy retry(std::clamp(settings.max_attempts, 1, 5));
  std::mt19937_64 random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    auto r = transport.perform("GET", url, headers, {});
    if (!r.ok()) {
      if (transport.last_failure() == TransportFailure::tls || !retry.may_retry(attempt))
        return make_error(ErrorKind::unavailable,
                          "cannot reach GitHub's ID-token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): " + r.error().message);
    } else if (r->status == 429 || r->status >= 500) {
      if (!retry.may_retry(attempt))
        return make_error(ErrorKind::unavailable,
                          "GitHub's ID-token endpoint answered HTTP " + std::to_string(r->status) + " " +
                              std::to_string(attempt) + " times");
    } else {
      nlohmann::json body = nlohmann::json::parse(r->body, nullptr, false);
      if (r->status != 200) {
        std::string message = body.is_object() && body.contains("message") && body["message"].is_string()
                                  ? body["message"].get<std::string>()
                                  : std::string();
        if (message.size() > 200) message.resize(200);
        return make_error(r->status == 401 || r->status == 403 ? ErrorKind::unauthorized : ErrorKind::internal,
                          "GitHub's ID-token endpoint answered HTTP " + std::to_string(r->status) +
                              (message.empty() ? std::string() : " (" + message + ")"));
      }
      if (!body.is_object() || !body.contains("value") || !body["value"].is_string() ||
          !looks_like_jwt(body["value"].get<std::string>()))
        return make_error(ErrorKind::internal, "GitHub's ID-token endpoint answered without a JWT in 'value'");
      return body["value"].get<std::string>();
    }
    const double wait = retry.delay(attempt, std::nullopt, random);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
}

bool looks_like_jwt(const std::string& text) {
  int dots = 0;
  std::size_t part = 0;
  for (char c : text) {
    if (c == '.') {
      if (part == 0) return false;
      ++dots;
      part = 0;
      continue;
    }
    const bool base64url = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!base64url) return false;
    ++part;
  }
  return dots == 2 && part > 0;
}

}  // namespace rt::client
