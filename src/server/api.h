// The server's own view of one HTTP exchange, free of Beast: what the router and the handlers see
// (method, decoded path parameters, raw query, body, credentials) and what they give back.
// Keeping Beast out of this header keeps the handler files quick to compile.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "service/service.h"

namespace rt::server {

enum class Method { get, post, put, del, patch, other };
std::string_view method_name(Method m);

struct ApiRequest {
  Method method = Method::get;
  std::string_view path;   // without the query string
  std::string_view query;  // raw, without the '?'
  std::string_view body;
  std::vector<std::string> params;  // percent-decoded path parameters, in pattern order
  Credentials credentials;
  bool secure = false;  // the browser reached us over TLS (a trusted proxy said so): cookies get Secure
  // Any other request header by name (case-insensitive), for the few handlers that read one (the secret
  // scanners' Authorization and signature headers); nullopt when absent. Valid during the handler call.
  std::optional<std::string_view> header(std::string_view name) const {
    return header_lookup ? header_lookup(raw_request, name) : std::nullopt;
  }
  std::optional<std::string_view> (*header_lookup)(const void* raw_request, std::string_view name) = nullptr;
  const void* raw_request = nullptr;
};

struct ApiResponse {
  int status = 200;
  std::string body;                  // JSON, or empty (204)
  std::string_view content_type = "application/json";
  std::string allow;                 // 405 only: the methods the path accepts
  // Rate-limit headers, already formatted; empty when limits are off.
  std::string ratelimit_policy;
  std::string ratelimit;
  std::optional<long> retry_after;   // seconds, on refusals
  // Further headers of the answer, e.g. `Link` with the next page of a list that has no envelope.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Maps an error kind to its HTTP status (throttled -> 429; the dispatcher may answer 503 instead).
int status_of(ErrorKind kind);

// `{"error": <Kind>, "message": <text>, "actions": []}` with the status of the kind.
ApiResponse error_response(const Error& error);
ApiResponse error_response(int status, std::string_view kind_name, std::string_view message);

}  // namespace rt::server
