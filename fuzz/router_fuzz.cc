// Fuzz target: routing and path decoding (server/router), as the session does it for every request: the
// request target split at '?', the path matched against every route of repotokensd, the numeric path
// parameters read as the handlers read them, and the query's pagination parameters. Beyond "no crash": a
// found route has the request's method and one decoded parameter per {param} of its pattern; a 405 names
// the methods that would match; percent-encoding any bytes and decoding them gives the bytes back.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "server/json_io.h"
#include "server/router.h"

using rt::server::Method;
using rt::server::RouteMatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const rt::server::Router router = rt::server::make_router();
  if (size == 0) return 0;
  static constexpr Method kMethods[] = {Method::get, Method::post, Method::put, Method::del, Method::other};
  const Method method = kMethods[data[0] % 5];
  const std::string_view target = rt::fuzz::as_text(data + 1, size - 1);

  const std::size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

  std::vector<std::string> params;
  RouteMatch match = router.match(method, path, params);
  switch (match.outcome) {
    case RouteMatch::Outcome::found: {
      if (!match.route || match.route->method != method) std::abort();
      std::size_t expected = 0;
      for (const auto& segment : match.route->segments) expected += segment.param ? 1 : 0;
      if (params.size() != expected) std::abort();
      for (const auto& p : params) {
        if (p.empty()) std::abort();
        (void)rt::server::id_param(p, "tokenId");
      }
      break;
    }
    case RouteMatch::Outcome::method_not_allowed:
      if (match.allow.empty()) std::abort();
      break;
    case RouteMatch::Outcome::not_found:
    case RouteMatch::Outcome::bad_path:
      break;
  }
  rt::server::ApiRequest request;
  request.method = method;
  request.path = path;
  request.query = query;
  (void)rt::server::page_request(request);
  (void)rt::server::query_param(query, "search");

  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded, decoded;
  for (unsigned char c : target) {
    encoded.push_back('%');
    encoded.push_back(kHex[c >> 4]);
    encoded.push_back(kHex[c & 15]);
  }
  if (!rt::server::percent_decode(encoded, decoded) || decoded != target) std::abort();
  (void)rt::server::percent_decode(target, decoded);
  return 0;
}
