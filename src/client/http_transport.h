// One HTTP connection (a libcurl easy handle) used by one worker thread: keep-alive reuse, TLS verification
// always on (optionally with a private CA bundle), proxies from the environment, connect and total timeouts.
// It only moves bytes; retries, pacing and JSON live in api_client.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace rt::client {

struct ConnectionSettings {
  std::string api_url = "https://app.codacy.com";  // scheme://host[:port][/prefix], no trailing slash
  std::string api_token;                           // account API token, sent as `api-token`
  std::string ca_file;                             // extra trust anchors (PEM); empty = system store
  long connect_timeout_ms = 5'000;   // to have a TCP (and TLS) connection
  long request_timeout_ms = 30'000;  // for the whole request, connection included
  int max_attempts = 10;  // per request, including the first
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in arrival order
  // Value of the first header with this lower-case name, or "" when absent.
  std::string header(std::string_view lower_name) const;
};

// How a request that got no response failed.
enum class TransportFailure {
  none,
  connect,  // no connection: refused, unresolvable host, or nothing within the connect timeout
  timeout,  // connected, but no complete response within the request timeout
  tls,      // the TLS handshake or the certificate check failed
  other,    // reset, closed mid-response, ...
};

// What the API client sends requests through: libcurl in the binary, canned answers in unit tests.
class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one request to `url` (absolute). Any HTTP status is a success here; only a failure to get a
  // response is an error, of kind `unavailable`, whose message says what happened in a few
  // words ("connection refused", "no connection within 5s (connect timeout)") and never contains a header
  // value; last_failure() tells whether the request may have reached the server (timeout, other) or
  // certainly did not (connect, tls), so that a create is not repeated blindly.
  virtual Result<HttpResponse> perform(const std::string& method, const std::string& url,
                                       const std::vector<std::string>& headers, const std::string& body) = 0;
  // How the last perform() failed; `none` after a response.
  virtual TransportFailure last_failure() const = 0;
};

class HttpTransport : public Transport {
 public:
  explicit HttpTransport(const ConnectionSettings& settings);
  ~HttpTransport() override;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  Result<HttpResponse> perform(const std::string& method, const std::string& url,
                               const std::vector<std::string>& headers, const std::string& body) override;

  TransportFailure last_failure() const override { return last_failure_; }

 private:
  const ConnectionSettings& settings_;
  void* curl_;  // CURL*, kept so the connection is reused
  TransportFailure last_failure_ = TransportFailure::none;
};

// Percent-encodes one path segment (RFC 3986 unreserved characters pass through).
std::string encode_path_segment(std::string_view segment);

}  // namespace rt::client
