// Test harness: the blocking libcurl client behind HttpClient. One easy handle per client, reset between
// requests (which keeps its connection cache, so requests reuse a keep-alive connection); never a proxy.
// Every exchange is recorded for the Codacy conformance check (support/exchange_capture.h).
#include "support/http_client.h"

#include "support/exchange_capture.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace rt::test {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Header lines arrive one per call; a status line (a new response, e.g. after 100 Continue) starts over.
size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  (*headers)[name] = trim(line.substr(colon + 1));
  return size * n;
}

bool has_header(const std::vector<std::string>& headers, const std::string& lower_name) {
  for (const auto& h : headers) {
    std::string name = h.substr(0, h.find(':'));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == lower_name) return true;
  }
  return false;
}

}  // namespace

nlohmann::json HttpResponse::json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string{} : it->second;
}

HttpClient::HttpClient(std::string base_url) : base_(std::move(base_url)) {
  global_init_once();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpClient::request(const std::string& method, const std::string& path, const std::string& body,
                                 const std::vector<std::string>& headers) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);  // options only; the connection cache survives
  HttpResponse r;
  std::string url = base_ + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);  // keep "..", so the server sees what the test sent
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 1000L);

  if (method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    if (method == "GET") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "GET");
  }

  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  if (!body.empty() && !has_header(headers, "content-type"))
    list = curl_slist_append(list, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);

  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    r.status = 0;  // transport failure: no HTTP status; the body says what went wrong
    r.headers.clear();
    r.body = std::string("transport error: ") + curl_easy_strerror(rc);
  }
  curl_slist_free_all(list);
  record_exchange(method, url, r.status, r.header("content-type"), r.body);
  return r;
}

HttpResponse HttpClient::post(const std::string& path, const nlohmann::json& body,
                              const std::vector<std::string>& headers) {
  return request("POST", path, body.is_null() ? std::string{} : body.dump(), headers);
}

HttpResponse HttpClient::put(const std::string& path, const nlohmann::json& body,
                             const std::vector<std::string>& headers) {
  return request("PUT", path, body.is_null() ? std::string{} : body.dump(), headers);
}

}  // namespace rt::test
