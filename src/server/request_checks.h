// The checks a request head passes before anything acts on it: message framing (RFC 9112 §6), the number
// of header fields, the form of the request target (RFC 9112 §3.2), and credential headers given once and
// in the header of their kind. Each returns the refusal to send, or nothing when the request may go on.
// Beast inside: include only from the session and its tests.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/beast/http/message.hpp>

#include "server/api.h"

namespace rt::server {

using RequestHead = boost::beast::http::request_header<>;

// The request head may be this large in all (request line and every field line), however it is cut into
// lines; and hold at most this many fields.
inline constexpr std::size_t kHeaderLimit = 16 * 1024;
inline constexpr std::size_t kMaxHeaderFields = 100;

// A refusal and whether the connection must close after it (the rest of the bytes cannot be trusted to
// be where the framing says).
struct Refusal {
  ApiResponse response;
  bool close = false;
};

// 431 when the head has more than kMaxHeaderFields fields.
std::optional<Refusal> check_field_count(const RequestHead& head);

// Framing we serve: no body, one Content-Length of decimal digits, or Transfer-Encoding "chunked" alone
// (case-insensitive, in one field). A coding other than chunked, chunked not last or given twice, quoting,
// a second Content-Length field (even an equal one), a list or anything but digits in it: 400, or 501 for
// a known coding chunked follows (gzip, deflate, compress); both close the connection. Beast itself
// refuses Content-Length together with a chunked Transfer-Encoding (see framing_error_message).
std::optional<Refusal> check_framing(const RequestHead& head);
// The message for the framing errors Beast's parser finds itself, or nullptr for other errors.
const char* framing_error_message(const boost::beast::error_code& ec);

// Where the request goes: origin-form "/path?query" as it is; absolute-form "http://host/path?query"
// (RFC 9112 §3.2.2: a server MUST accept it) by its path and query (no path: "/"); "OPTIONS *" and CONNECT
// get 501 (CONNECT closes: its bytes may be meant for a tunnel); any other form is 400 saying which forms
// are served. `path` and `query` are views into `target`.
std::optional<Refusal> resolve_target(boost::beast::http::verb method, std::string_view target, std::string_view& path,
                                      std::string_view& query);

// Fills the credential headers (api-token or api_token, project-token or project_token) into `out`. A
// credential given more than once, in either spelling, is 400 naming it. With both headers present, a
// token in the header of the other kind is 401 saying which header it belongs in (the service, which
// uses api-token when both are there, would not see the other one; with one header it words the same
// refusal itself, and charges it to the address's rate limit). Neither echoes a secret.
std::optional<Refusal> read_credentials(const RequestHead& head, Credentials& out);

}  // namespace rt::server
