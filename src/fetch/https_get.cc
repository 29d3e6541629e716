// libcurl GET with TLS peer and host verification on, http/https only, no redirects, a timeout and a
// size cap enforced while receiving (a larger body aborts the transfer), optionally a CA bundle of its own.
#include "fetch/https_get.h"

#include <fstream>
#include <mutex>
#include <sstream>

#include <curl/curl.h>
#include <fmt/format.h>

namespace rt::fetch {
namespace {

struct Sink {
  std::string body;
  size_t max = 0;
  bool too_large = false;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  if (sink->body.size() + n > sink->max) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->body.append(data, n);
  return n;
}

}  // namespace

Result<std::string> https_get(const std::string& url, const FetchLimits& limits) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (!curl) return make_error(ErrorKind::internal, "cannot start libcurl");
  Sink sink;
  sink.max = limits.max_bytes;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!limits.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, limits.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, limits.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, limits.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "repotokensd");
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED)
    return make_error(ErrorKind::unavailable, fmt::format("the answer is larger than {} bytes", limits.max_bytes));
  if (rc != CURLE_OK) return make_error(ErrorKind::unavailable, fmt::format("fetch failed: {}", curl_easy_strerror(rc)));
  if (status != 200) return make_error(ErrorKind::unavailable, fmt::format("answered HTTP {}", status));
  return std::move(sink.body);
}

Status check_ca_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::invalid, fmt::format("--outbound-ca-file {} cannot be read", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return make_error(ErrorKind::invalid, fmt::format("--outbound-ca-file {} holds no PEM certificate "
                                                      "(-----BEGIN CERTIFICATE-----): give a CA bundle in PEM",
                                                      path));
  return ok_status();
}

}  // namespace rt::fetch
