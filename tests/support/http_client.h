// Test harness: a small blocking HTTP client (libcurl) for driving repotokensd in integration tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rt::test {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  nlohmann::json json() const;  // parsed body; a JSON null when it is not JSON
  std::string header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  explicit HttpClient(std::string base_url);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `path` is appended to the base URL as given (no encoding is done). `headers` are "Name: value" lines.
  HttpResponse request(const std::string& method, const std::string& path, const std::string& body = {},
                       const std::vector<std::string>& headers = {});
  HttpResponse get(const std::string& path, const std::vector<std::string>& headers = {}) {
    return request("GET", path, {}, headers);
  }
  HttpResponse post(const std::string& path, const nlohmann::json& body, const std::vector<std::string>& headers = {});
  HttpResponse put(const std::string& path, const nlohmann::json& body, const std::vector<std::string>& headers = {});
  HttpResponse del(const std::string& path, const std::vector<std::string>& headers = {}) {
    return request("DELETE", path, {}, headers);
  }

 private:
  std::string base_;
  void* curl_;  // CURL*, reused so connections are kept alive
};

// Header helpers.
inline std::string api_token(const std::string& t) { return "api-token: " + t; }
inline std::string project_token(const std::string& t) { return "project-token: " + t; }

}  // namespace rt::test
