// One HTTP/1.1 connection, as a coroutine on its worker's io_context. The path of a request:
// wait for its first byte (first-byte timeout on a new connection, idle timeout between requests; shed
// first when the server is full) -> read its head (header timeout, 16 KiB and 100 fields in all) -> check
// framing, target and credentials (request_checks.h) -> read the body (read timeout from the first byte,
// body limits) -> route -> answer on the loop (health, version, metrics) or hop ONCE to the blocking pool
// for admission plus the operation -> write (HEAD: the same head, no body) -> metrics and access log ->
// next request or close.
#include <array>
#include <chrono>
#include <cmath>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "core/metrics.h"
#include "server/console_http.h"
#include "server/handlers.h"
#include "server/log.h"
#include "server/net.h"
#include "server/request_checks.h"

namespace rt::server {
namespace http = beast::http;
namespace {

constexpr std::size_t kLingerBytes = 64 * 1024 * 1024;  // at most this much of a refused body is read away
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Parser = http::request_parser<http::string_body>;

// What the access log and the metrics need about one exchange.
struct Outcome {
  const char* route = "unmatched";
  std::string principal = "-";
};

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

Method method_of(http::verb v) {
  switch (v) {
    case http::verb::get:
    case http::verb::head: return Method::get;  // the same route; the body is left out when writing
    case http::verb::post: return Method::post;
    case http::verb::put: return Method::put;
    case http::verb::delete_: return Method::del;
    case http::verb::patch: return Method::patch;
    default: return Method::other;
  }
}

std::optional<std::string_view> header_view(const Request& req, std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value().data(), it->value().size());
}

ConsoleHeaders console_headers(const Request& req, const Credentials& c) {
  return ConsoleHeaders{.cookie = header_view(req, "Cookie"),
                        .origin = header_view(req, "Origin"),
                        .sec_fetch_site = header_view(req, "Sec-Fetch-Site"),
                        .csrf_token = header_view(req, kCsrfHeader),
                        .host = header_view(req, "Host"),
                        .forwarded_proto = header_view(req, "X-Forwarded-Proto"),
                        .content_type = header_view(req, "Content-Type"),
                        .has_token_header = (c.api_token && !c.api_token->empty()) ||
                                            (c.project_token && !c.project_token->empty())};
}

long ceil_seconds(double s, long at_least) { return std::max(at_least, static_cast<long>(std::ceil(s - 1e-9))); }

// The rate-limit headers every answer to an admitted (or throttled) request carries, and the refusal.
ApiResponse finish(const Admission& admission, ApiResponse resp) {
  if (const RateLimitRule* rule = admission.rule) {
    // A whole-second window and the quota the rate gives over it, so that q/w is the rate even when
    // burst/rate is not a whole number (the burst itself shows in RateLimit's r).
    const long window = ceil_seconds(rule->window_seconds(), 1);
    const long quota = std::max(1L, std::lround(rule->rate_per_second * static_cast<double>(window)));
    resp.ratelimit_policy = fmt::format("\"{}\";q={};w={}", rule->name, quota, window);
    resp.ratelimit = fmt::format("\"{}\";r={};t={}", rule->name, std::max<std::int64_t>(0, admission.decision.remaining),
                                 ceil_seconds(admission.decision.reset_after, 0));
  }
  return resp;
}

ApiResponse refusal(ServerContext& ctx, const Admission& admission, bool legacy = false) {
  Error error = admission.error.value_or(make_error(ErrorKind::unauthorized, "authentication required"));
  ApiResponse resp = legacy ? legacy_error_response(error) : error_response(error);
  if (error.kind == ErrorKind::throttled) {
    resp.status = ctx.config.throttle_status;
    resp.retry_after = ceil_seconds(admission.decision.retry_after, 1);
  } else if (admission.decision.unavailable) {
    resp.retry_after = ceil_seconds(admission.decision.retry_after, 1);  // when the limiter probes Redis again
  }
  return finish(admission, std::move(resp));
}

// Admission (unless the loop already admitted the request) and the operation, on the blocking pool.
ApiResponse run_service(ServerContext& ctx, const Route& route, const ApiRequest& req, Outcome& out,
                        std::optional<Admission> admitted) {
  Admission admission = admitted ? std::move(*admitted) : ctx.service.admit(req.credentials, route.anonymous);
  if (!admission.principal) return refusal(ctx, admission, route.legacy);
  out.principal = admission.principal->describe();
  return finish(admission, route.service(ctx.service, *admission.principal, req));
}

// Routes a request whose head passed the checks, with `api.path` and `api.query` already resolved.
asio::awaitable<ApiResponse> dispatch(ServerContext& ctx, Request& req, const std::string& peer,
                                      ApiRequest& api, Outcome& out, bool& close) {
  if (auto repeated = repeated_query_parameter(api.query))
    co_return error_response(400, "BadRequest",
                             fmt::format("query parameter '{:.100}' is given more than once; give it once", *repeated));
  api.method = method_of(req.method());
  api.body = req.body();
  api.raw_request = &req;
  api.header_lookup = [](const void* raw, std::string_view name) {
    return header_view(*static_cast<const Request*>(raw), name);
  };
  api.credentials.console_session.reset();
  api.secure = false;
  RouteMatch match = ctx.router.match(api.method, api.path, api.params);
  switch (match.outcome) {
    case RouteMatch::Outcome::bad_path:
      co_return error_response(make_error(ErrorKind::invalid, "malformed percent-encoding in the path"));
    case RouteMatch::Outcome::not_found:
      co_return error_response(make_error(ErrorKind::not_found, "no such endpoint"));
    case RouteMatch::Outcome::method_not_allowed: {
      ApiResponse r = error_response(405, "MethodNotAllowed", "method not allowed on this endpoint");
      r.allow = std::move(match.allow);
      if (r.allow.find("GET") != std::string::npos) r.allow += ", HEAD";  // served wherever GET is
      co_return r;
    }
    case RouteMatch::Outcome::found: break;
  }
  const Route& route = *match.route;
  out.route = route.name;
  if (route.not_implemented)  // a Codacy operation we do not serve: "unsupported here", not "no such thing"
    co_return error_response(501, "NotImplemented", std::string("repotokensd does not serve ") + route.name);
  if (route.loop) co_return route.loop(api);
  if (auto refusal = read_credentials(req.base(), api.credentials)) {
    close = refusal->close;
    co_return std::move(refusal->response);
  }
  api.credentials.client_address = peer;
  // The console's cookie, same-origin and CSRF rules (server/console_http.h), before any handler runs.
  if (auto refused = check_console_request(ctx.service, ctx.config, peer, console_headers(req, api.credentials),
                                           api.method != Method::get, route.name == kConsoleSignIn, api))
    co_return *refused;
  if (route.open)
    co_return co_await asio::co_spawn(
        ctx.pool, [&]() -> asio::awaitable<ApiResponse> { co_return route.open(ctx.service, api); },
        asio::use_awaitable);
  // The hottest reads may be answered from the service's memory right here, without the hop.
  std::optional<Admission> admitted;
  if (route.memory && (admitted = ctx.service.try_admit_from_memory(api.credentials))) {
    if (!admitted->principal) co_return refusal(ctx, *admitted);
    if (auto resp = route.memory(ctx.service, *admitted->principal, api)) {
      out.principal = admitted->principal->describe();
      co_return finish(*admitted, std::move(*resp));
    }
  }
  // One hop to the pool for the whole request (asio::post to the pool does not switch threads in 1.81).
  co_return co_await asio::co_spawn(
      ctx.pool,
      [&]() -> asio::awaitable<ApiResponse> { co_return run_service(ctx, route, api, out, std::move(admitted)); },
      asio::use_awaitable);
}

Response to_http(ApiResponse&& r, unsigned version, bool keep_alive, bool head) {
  Response res{static_cast<http::status>(r.status), version};
  if (!r.body.empty()) res.set(http::field::content_type, r.content_type);
  if (!r.allow.empty()) res.set(http::field::allow, r.allow);
  if (!r.ratelimit_policy.empty()) {
    res.set("RateLimit-Policy", r.ratelimit_policy);
    res.set("RateLimit", r.ratelimit);
  }
  if (r.retry_after) res.set(http::field::retry_after, std::to_string(*r.retry_after));
  for (auto& [name, value] : r.headers) res.insert(name, value);
  res.keep_alive(keep_alive);
  if (head) {  // RFC 9110 §9.3.2: the head a GET would have, Content-Length included, and no body
    res.content_length(r.body.size());
    return res;
  }
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

// The label text of a (route, status) pair, built once per thread.
const std::string& metric_labels(const char* route, int status) {
  thread_local std::map<std::pair<const char*, int>, std::string> cache;
  auto [it, fresh] = cache.try_emplace({route, status});
  if (fresh) it->second = fmt::format("route=\"{}\",status=\"{}\"", route, status);
  return it->second;
}

const std::string& route_label(const char* route) {
  thread_local std::map<const char*, std::string> cache;
  auto [it, fresh] = cache.try_emplace(route);
  if (fresh) it->second = fmt::format("route=\"{}\"", route);
  return it->second;
}

void record(const Request& req, std::string_view path, const Outcome& out, int status, std::size_t bytes,
            std::chrono::steady_clock::time_point start) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics::add("repotokens_http_requests_total", metric_labels(out.route, status));
  metrics::observe("repotokens_http_request_duration_seconds", route_label(out.route), elapsed);
  if (access_log_enabled()) {
    std::string_view method(req.method_string().data(), req.method_string().size());
    log_access({method, path, out.route, status, elapsed * 1000, bytes, out.principal});
  }
}

// A reading failure that deserves an answer before closing (413, 431, 400); nullopt to just close.
std::optional<ApiResponse> read_failure(const beast::error_code& ec, bool coverage) {
  if (ec == http::error::body_limit && coverage) {
    ApiResponse r;  // the legacy body the coverage reporters read
    r.status = 413;
    r.body = R"json({"error":"coverage report exceeds the size limit (--max-coverage-body)"})json";
    return r;
  }
  if (ec == http::error::body_limit)
    return error_response(413, "PayloadTooLarge", "request body exceeds the limit (--max-body)");
  if (ec == http::error::header_limit)
    return error_response(431, "RequestHeaderFieldsTooLarge",
                          fmt::format("the request head (request line and header fields) exceeds {} bytes in all",
                                      kHeaderLimit));
  if (const char* framing = framing_error_message(ec)) return error_response(400, "BadRequest", framing);
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset || ec == asio::error::eof || ec == http::error::partial_message)
    return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category())
    return error_response(400, "BadRequest", "malformed HTTP request");
  return std::nullopt;
}

bool is_coverage_upload(const Request& req) {
  return req.method() == http::verb::post &&
         std::string_view(req.target().data(), req.target().size()).starts_with("/2.0/");
}

bool expects_continue(const Request& req) {
  auto it = req.find(http::field::expect);
  return it != req.end() && beast::iequals(it->value(), "100-continue");
}

// Uncounts the connection (in all and for its address) when the session ends, however it ends.
class ConnectionCount {
 public:
  ConnectionCount(ServerContext& ctx, asio::ip::address peer) : ctx_(ctx), peer_(peer) {}
  ~ConnectionCount() {
    ctx_.by_address.remove(peer_);
    int now = ctx_.open_connections.fetch_sub(1) - 1;
    metrics::set_gauge("repotokens_http_open_connections", "", now);
  }

 private:
  ServerContext& ctx_;
  asio::ip::address peer_;
};

// Reads the request head into `parser`: at most kHeaderLimit bytes in all. Beast's own header_limit bounds
// only the bytes one parse call has not consumed, so a head sent in many small lines would pass it; here the
// limit left is lowered by every byte consumed. The head must arrive before the stream's current expiry.
asio::awaitable<beast::error_code> read_head(beast::tcp_stream& stream, beast::flat_buffer& buffer, Parser& parser) {
  std::size_t used = 0;
  while (true) {
    if (buffer.size() > 0) {
      beast::error_code ec;
      parser.header_limit(static_cast<std::uint32_t>(kHeaderLimit - used));
      const std::size_t n = parser.put(buffer.data(), ec);
      buffer.consume(n);
      used += n;
      if (ec != http::error::need_more) co_return ec;  // done, or a parse error (header_limit among them)
      if (parser.is_header_done()) co_return beast::error_code{};
      if (used >= kHeaderLimit) co_return http::error::header_limit;
    }
    auto [read_ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kTuple);
    if (read_ec == asio::error::eof && parser.got_some()) co_return beast::error_code(http::error::partial_message);
    if (read_ec) co_return read_ec;
    buffer.commit(n);
  }
}

}  // namespace

asio::awaitable<void> serve_connection(ServerContext& ctx, Worker& worker, tcp::socket socket, asio::ip::address peer_address) {
  ConnectionCount count(ctx, peer_address);  // the acceptor already counted this connection in
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  const std::string peer = peer_address.to_string();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  ApiRequest api;
  IdleConnection idle;
  idle.stream = &stream;
  const auto idle_timeout = seconds(ctx.config.idle_timeout);
  const auto read_timeout = seconds(ctx.config.read_timeout);
  // A new connection gets less time to start than a kept one between requests, and a head less than a body.
  const auto first_byte_timeout = std::min(seconds(ctx.config.first_byte_timeout), idle_timeout);
  const auto header_timeout = std::min(seconds(ctx.config.header_timeout), read_timeout);

  bool refused_body = false;
  for (bool first = true;; first = false) {
    if (buffer.size() == 0) {  // between requests: the idle timeout, and drain or shedding may close us here
      if (ctx.draining.load(std::memory_order_relaxed)) break;
      stream.expires_after(first ? first_byte_timeout : idle_timeout);
      worker.idle.push_back(idle);
      auto [read_ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kTuple);
      idle.unlink();
      if (read_ec) break;
      buffer.commit(n);
    }
    const auto first_byte_at = std::chrono::steady_clock::now();
    Parser parser;
    // The header first, under the larger of the two limits (Beast checks Content-Length against the limit
    // as soon as the header is parsed); then the limit of the route: coverage uploads (POST /2.0/...) may
    // be up to --max-coverage-body, everything else --max-body.
    parser.body_limit(std::max(ctx.config.max_body, ctx.config.max_coverage_body));
    stream.expires_after(header_timeout);
    beast::error_code read_ec = co_await read_head(stream, buffer, parser);
    Request& req = parser.get();
    // Checks on the head, before anything reads the body or acts on the request.
    std::optional<Refusal> refused;
    if (!read_ec && !(refused = check_field_count(req.base())) && !(refused = check_framing(req.base()))) {
      refused = resolve_target(req.method(), std::string_view(req.target().data(), req.target().size()), api.path,
                               api.query);
    }
    // A refused request's body is never read: the connection cannot go on to a next request after it.
    if (refused && !parser.is_done()) refused->close = true;
    const bool coverage =
        (!read_ec || read_ec == http::error::body_limit) && !refused && is_coverage_upload(req);
    if (!read_ec && !refused && !coverage) {
      parser.body_limit(ctx.config.max_body);  // for chunked bodies, checked as they arrive
      if (auto length = parser.content_length(); length && *length > ctx.config.max_body)
        read_ec = http::error::body_limit;
    }
    stream.expires_at(first_byte_at + read_timeout);  // the whole request, from its first byte
    if (!read_ec && !refused && !parser.is_done() && expects_continue(req)) {
      // curl asks before sending a large body (coverage reports) and otherwise waits a whole second.
      http::response<http::empty_body> go_on{http::status::continue_, req.version()};
      auto [continue_ec, continue_bytes] = co_await http::async_write(stream, go_on, kTuple);
      read_ec = continue_ec;
    }
    if (!read_ec && !refused && !parser.is_done()) {
      auto [body_ec, body_bytes] = co_await http::async_read(stream, buffer, parser, kTuple);
      read_ec = body_ec;
    }
    const auto start = std::chrono::steady_clock::now();
    bool keep_alive = false;
    bool close = false;
    ApiResponse resp;
    Outcome out;
    std::string_view logged_path;
    if (read_ec) {
      auto failure = read_failure(read_ec, coverage);
      if (!failure) break;
      resp = std::move(*failure);
      refused_body = true;
      std::string_view target(req.target().data(), req.target().size());
      logged_path = target.substr(0, target.find('?'));
    } else if (refused) {
      resp = std::move(refused->response);
      close = refused->close;
      refused_body = close;
      keep_alive = !close && req.keep_alive() && !ctx.draining.load(std::memory_order_relaxed);
      std::string_view target(req.target().data(), req.target().size());
      logged_path = target.substr(0, target.find('?'));
    } else {
      try {
        resp = co_await dispatch(ctx, req, peer, api, out, close);
      } catch (const std::exception& e) {
        log_error(fmt::format("unexpected exception in {}: {}", out.route, e.what()));
        resp = error_response(make_error(ErrorKind::internal, "internal error"));
      }
      keep_alive = !close && req.keep_alive() && !ctx.draining.load(std::memory_order_relaxed);
      logged_path = api.path;
    }
    std::string_view path(req.target().data(), req.target().size());
    path = path.substr(0, path.find('?'));
    if (is_console_path(path) || api.credentials.console_session) ensure_console_headers(resp);
    const int status = resp.status;
    const std::size_t bytes = resp.body.size();
    Response res = to_http(std::move(resp), req.version() ? req.version() : 11, keep_alive,
                           req.method() == http::verb::head);
    stream.expires_after(read_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, res, kTuple);
    record(req, logged_path, out, status, bytes, start);
    if (write_ec || !keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (refused_body) {
    // The client may still be sending the body we refused (413, 431). Closing now would reset the
    // connection and could destroy our answer before the client reads it: read the rest away, briefly.
    stream.expires_after(std::chrono::seconds(2));
    std::array<char, 16384> sink;
    for (std::size_t total = 0; total < kLingerBytes;) {
      auto [linger_ec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
      if (linger_ec) break;
      total += n;
    }
  }
  stream.close();
}

}  // namespace rt::server
