// libcurl easy-handle wrapper: the only place that knows about curl options. One instance per thread.
#include "client/http_transport.h"

#include <curl/curl.h>

#include <cctype>
#include <cerrno>
#include <mutex>

namespace rt::client {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) headers->clear();  // a new response (after 100-continue or a redirect)
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  headers->emplace_back(std::move(name), std::string(value));
  return size * n;
}

std::string seconds_text(long ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

// A failure in a few words and its class. libcurl's own text ("Couldn't connect to server") says less
// than its error buffer, which names the cause ("Connection refused") without any header value.
std::pair<TransportFailure, std::string> describe_failure(CURLcode rc, const char* detail, bool connected,
                                                          long os_errno, const ConnectionSettings& s) {
  std::string text = detail && *detail ? detail : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return {TransportFailure::connect, "cannot resolve the host name (" + text + ")"};
    case CURLE_COULDNT_CONNECT:
      if (os_errno == ECONNREFUSED) return {TransportFailure::connect, "connection refused"};
      return {TransportFailure::connect, text};
    case CURLE_OPERATION_TIMEDOUT:
      if (!connected)
        return {TransportFailure::connect, "no connection within " + seconds_text(s.connect_timeout_ms) + " (connect timeout)"};
      return {TransportFailure::timeout, "no complete answer within " + seconds_text(s.request_timeout_ms) + " (request timeout)"};
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return {TransportFailure::tls, "TLS failed: " + text};
    default:
      return {TransportFailure::other, text};
  }
}

}  // namespace

std::string HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

HttpTransport::HttpTransport(const ConnectionSettings& settings) : settings_(settings) {
  global_init_once();
  curl_ = curl_easy_init();
}

HttpTransport::~HttpTransport() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<HttpResponse> HttpTransport::perform(const std::string& method, const std::string& url,
                                            const std::vector<std::string>& headers, const std::string& body) {
  CURL* c = static_cast<CURL*>(curl_);
  last_failure_ = TransportFailure::other;
  if (!c) return make_error(ErrorKind::internal, "libcurl could not be initialised");
  curl_easy_reset(c);
  char detail[CURL_ERROR_SIZE] = "";  // keeps the connection cache; clears the previous request's options
  HttpResponse response;
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip on POST
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "GET") curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  if (method == "POST" || method == "PUT" || !body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response.headers);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // thread-safe timeouts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, settings_.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, settings_.request_timeout_ms);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!settings_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, settings_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "repotokens/0.1");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  // Proxies: libcurl reads http_proxy / https_proxy / HTTPS_PROXY / no_proxy by itself when no proxy is set.
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    curl_off_t connect_time = 0;
    long os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_time);
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    auto [failure, text] = describe_failure(rc, detail, connect_time > 0, os_errno, settings_);
    last_failure_ = failure;
    return make_error(ErrorKind::unavailable, text);
  }
  last_failure_ = TransportFailure::none;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string encode_path_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : segment) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

}  // namespace rt::client
