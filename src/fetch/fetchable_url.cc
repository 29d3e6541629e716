// The fetchable-URL rule (fetchable_url.h): a small parse of scheme://authority, enough to find the host
// the loopback exception depends on. libcurl parses the URL again when it fetches.
#include "fetch/fetchable_url.h"

#include <cctype>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace rt::fetch {
namespace {

// The host of "scheme://host[:port][/path]", or nullopt when there is none.
std::optional<std::string> url_host(std::string_view url, std::string_view scheme) {
  std::string_view rest = url.substr(scheme.size());
  size_t end = rest.find('/');
  std::string_view authority = rest.substr(0, end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = authority;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
  } else if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
  }
  if (host.empty()) return std::nullopt;
  return std::string(host);
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host == "[::1]") return true;
  // 127.0.0.0/8 written as a dotted quad.
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return dots == 3;
}

Status check_fetchable_url(std::string_view url, std::string_view what) {
  const bool https = url.starts_with("https://");
  const bool http = url.starts_with("http://");
  std::optional<std::string> host = https ? url_host(url, "https://") : http ? url_host(url, "http://") : std::nullopt;
  if (!host || url.find_first_of("?# \t\r\n") != std::string_view::npos)
    return make_error(ErrorKind::invalid,
                      fmt::format("{} '{}' is not a URL of the form https://HOST[/PATH] (no query, no fragment)", what,
                                  url.substr(0, 200)));
  if (http && !is_loopback_host(*host))
    return make_error(ErrorKind::invalid,
                      fmt::format("{} '{}' uses http://, which is accepted only on loopback addresses (127.0.0.1, "
                                  "[::1]); use https://",
                                  what, url.substr(0, 200)));
  return ok_status();
}

}  // namespace rt::fetch
