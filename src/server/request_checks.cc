// Checks on a request head before it is acted on (see request_checks.h). They run on every request, so
// they look at the fields Beast already parsed and allocate nothing unless they refuse.
#include "server/request_checks.h"

#include <algorithm>
#include <iterator>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "core/secret.h"

namespace rt::server {
namespace http = boost::beast::http;
namespace {

Refusal refuse(int status, std::string_view kind, std::string_view message, bool close) {
  return Refusal{error_response(status, kind, message), close};
}

Refusal bad_framing(std::string_view message) { return refuse(400, "BadRequest", message, true); }

constexpr std::string_view kServedFraming =
    "send the body with one Content-Length, or with Transfer-Encoding: chunked alone";

bool is_tchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Calls `each(coding)` for every element of the comma-separated lists in all Transfer-Encoding fields, in
// order, with surrounding whitespace removed (empty elements included, as a sender must not send them).
template <class F>
void for_each_coding(const RequestHead& head, F each) {
  auto [first, last] = head.equal_range(http::field::transfer_encoding);
  for (auto it = first; it != last; ++it) {
    std::string_view list(it->value().data(), it->value().size());
    while (true) {
      size_t comma = list.find(',');
      std::string_view element = list.substr(0, comma);
      while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) element.remove_prefix(1);
      while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) element.remove_suffix(1);
      each(element);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
}

std::optional<Refusal> check_transfer_encoding(const RequestHead& head) {
  if (head.find(http::field::transfer_encoding) == head.end()) return std::nullopt;
  if (head.version() < 11)
    return bad_framing("Transfer-Encoding is not defined for HTTP/1.0 (RFC 9112 §6.1); send a Content-Length");
  if (head.find(http::field::content_length) != head.end())
    return bad_framing(fmt::format("a request may not carry both Transfer-Encoding and Content-Length; {}", kServedFraming));
  int codings = 0, chunked = 0;
  bool last_is_chunked = false;
  std::string_view malformed, other;
  for_each_coding(head, [&](std::string_view coding) {
    ++codings;
    // A coding name may carry parameters (";q=..." is for TE, but "x;y=z" is still a name): only the name counts.
    std::string_view name = coding.substr(0, coding.find(';'));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    last_is_chunked = boost::beast::iequals(name, "chunked") && name.size() == coding.size();
    if (last_is_chunked) ++chunked;
    bool token = !name.empty() && std::all_of(name.begin(), name.end(), is_tchar);
    if (!token && malformed.empty()) malformed = coding;
    if (token && !last_is_chunked && other.empty()) other = name;
  });
  if (!malformed.empty())
    return bad_framing(fmt::format("Transfer-Encoding holds \"{:.40}\", which is not a transfer-coding name; {}",
                                   malformed, kServedFraming));
  if (chunked > 1)
    return bad_framing(fmt::format("Transfer-Encoding names chunked more than once (RFC 9112 §6.1 allows it once, "
                                   "last); {}", kServedFraming));
  if (!last_is_chunked)
    return bad_framing(fmt::format("Transfer-Encoding must end with chunked (RFC 9112 §6.1), and only chunked is "
                                   "supported; {}", kServedFraming));
  if (codings > 1) {
    // chunked is last and something precedes it: a real coding of the content that we do not implement.
    static constexpr std::string_view known[] = {"gzip", "x-gzip", "deflate", "compress", "x-compress"};
    bool is_known = std::any_of(std::begin(known), std::end(known),
                                [&](std::string_view k) { return boost::beast::iequals(k, other); });
    if (is_known)
      return refuse(501, "NotImplemented",
                    fmt::format("transfer coding {} is not supported, only chunked; {}", other, kServedFraming), true);
    return bad_framing(fmt::format("unknown transfer coding \"{:.40}\"; {}", other, kServedFraming));
  }
  return std::nullopt;
}

std::optional<Refusal> check_content_length(const RequestHead& head) {
  auto [first, last] = head.equal_range(http::field::content_length);
  if (first == last) return std::nullopt;
  if (std::next(first) != last)
    return bad_framing("Content-Length is given more than once; send it once, as one decimal number");
  std::string_view value(first->value().data(), first->value().size());
  if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad_framing("Content-Length must be one decimal number of bytes (not a list, sign or other text)");
  return std::nullopt;
}

std::string_view credential_name(bool account) { return account ? "api-token" : "project-token"; }

// The one value of a credential, nullopt when absent; `repeated` when it is given more than once.
std::optional<std::string_view> credential(const RequestHead& head, std::string_view a, std::string_view b,
                                           bool& repeated) {
  std::optional<std::string_view> value;
  int count = 0;
  for (std::string_view name : {a, b}) {
    auto [first, last] = head.equal_range(name);
    for (auto it = first; it != last; ++it) {
      ++count;
      value = std::string_view(it->value().data(), it->value().size());
    }
  }
  repeated = count > 1;
  return value;
}

}  // namespace

std::optional<Refusal> check_field_count(const RequestHead& head) {
  std::size_t fields = 0;
  for (auto it = head.begin(); it != head.end(); ++it)
    if (++fields > kMaxHeaderFields)
      return refuse(431, "RequestHeaderFieldsTooLarge",
                    fmt::format("the request has more than {} header fields; send at most {}", kMaxHeaderFields,
                                kMaxHeaderFields),
                    true);
  return std::nullopt;
}

std::optional<Refusal> check_framing(const RequestHead& head) {
  if (auto refusal = check_transfer_encoding(head)) return refusal;
  return check_content_length(head);
}

const char* framing_error_message(const boost::beast::error_code& ec) {
  if (ec == http::error::bad_content_length)
    return "Content-Length must be one decimal number, and may not come with Transfer-Encoding: chunked; send one "
           "Content-Length, or Transfer-Encoding: chunked alone";
  if (ec == http::error::multiple_content_length)
    return "Content-Length is given more than once, with different values; send it once";
  if (ec == http::error::bad_transfer_encoding)
    return "Transfer-Encoding may not follow a chunked Transfer-Encoding or come with Content-Length; send one "
           "Content-Length, or Transfer-Encoding: chunked alone";
  return nullptr;
}

std::optional<Refusal> resolve_target(http::verb method, std::string_view target, std::string_view& path,
                                      std::string_view& query) {
  if (method == http::verb::connect)
    return refuse(501, "NotImplemented", "CONNECT is not supported: this is an API server, not a proxy", true);
  if (!target.empty() && target.front() == '/') {  // origin-form: the request of every ordinary client
    size_t q = target.find('?');
    path = target.substr(0, q);
    query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    return std::nullopt;
  }
  if (target == "*") {
    if (method == http::verb::options)
      return refuse(501, "NotImplemented",
                    "OPTIONS * is not supported: each endpoint answers GET, HEAD, POST, PUT or DELETE, and a 405 "
                    "answer lists them in its Allow header",
                    false);
    return refuse(400, "BadRequest", "the request target * is only meaningful with OPTIONS; send a path such as "
                                     "/api/v3/health", false);
  }
  auto url = boost::urls::parse_absolute_uri(target);
  if (url && (url->scheme_id() == boost::urls::scheme::http || url->scheme_id() == boost::urls::scheme::https)) {
    std::string_view p = url->encoded_path();
    path = p.empty() ? std::string_view("/") : p;
    query = url->has_query() ? std::string_view(url->encoded_query()) : std::string_view();
    return std::nullopt;
  }
  return refuse(400, "BadRequest",
                "the request target must be a path (/api/v3/...) or an absolute http(s) URL "
                "(http://host/api/v3/...)",
                false);
}

std::optional<Refusal> read_credentials(const RequestHead& head, Credentials& out) {
  bool account_repeated = false, project_repeated = false;
  auto account = credential(head, "api-token", "api_token", account_repeated);
  auto project = credential(head, "project-token", "project_token", project_repeated);
  for (auto [repeated, is_account] : {std::pair{account_repeated, true}, std::pair{project_repeated, false}})
    if (repeated)
      return refuse(400, "BadRequest",
                    fmt::format("the {} header is given more than once (spelled {} or {}); send it once",
                                credential_name(is_account), credential_name(is_account),
                                is_account ? "api_token" : "project_token"),
                    false);
  if (account && project) {
    if (project->starts_with(kAccountTokenPrefix))
      return refuse(401, "Unauthorized", "invalid project-token header: this is an account token; send it as api-token",
                    false);
    if (account->starts_with(kRepositoryTokenPrefix))
      return refuse(401, "Unauthorized",
                    "invalid api-token header: this is a repository token; send it as project-token", false);
  }
  // Assigned rather than replaced: the session reuses one Credentials, and with it the strings' capacity.
  auto keep = [](std::optional<std::string>& slot, std::optional<std::string_view> value) {
    if (!value) slot.reset();
    else if (slot) slot->assign(*value);
    else slot.emplace(*value);
  };
  keep(out.api_token, account);
  keep(out.project_token, project);
  return std::nullopt;
}

}  // namespace rt::server
