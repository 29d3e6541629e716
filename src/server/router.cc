// Route table and matching. The path is split on '/', each segment decoded once, then compared with
// each route's pre-split pattern; a path that matches some pattern under another method is a 405.
#include "server/router.h"

#include <deque>

namespace rt::server {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "/a/b/c" into decoded segments. False on a path not starting with '/' or a bad escape.
bool split_path(std::string_view path, std::vector<std::string>& segments, size_t& count) {
  count = 0;
  if (path.empty() || path.front() != '/') return false;
  size_t pos = 1;
  while (true) {
    size_t slash = path.find('/', pos);
    std::string_view raw = path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (segments.size() <= count) segments.emplace_back();
    if (!percent_decode(raw, segments[count])) return false;
    ++count;
    if (slash == std::string_view::npos) return true;
    pos = slash + 1;
  }
}

bool matches(const Route& route, const std::vector<std::string>& segments, size_t count) {
  if (route.segments.size() != count) return false;
  for (size_t i = 0; i < count; ++i) {
    const auto& s = route.segments[i];
    if (s.param) {
      if (segments[i].empty()) return false;
    } else if (s.literal != segments[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::post: return "POST";
    case Method::put: return "PUT";
    case Method::del: return "DELETE";
    case Method::patch: return "PATCH";
    case Method::other: return "OTHER";
  }
  return "OTHER";
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::optional<std::string> repeated_query_parameter(std::string_view query) {
  if (query.empty()) return std::nullopt;
  // The names as they are, or decoded (into reused strings: a deque keeps them in place as it grows) when
  // they hold an escape or a '+'. Both containers keep their capacity from request to request.
  thread_local std::deque<std::string> decoded;
  thread_local std::vector<std::string_view> names;
  names.clear();
  size_t escaped = 0;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::string_view name = pair.substr(0, pair.find('='));
    if (pair.empty()) continue;  // "a&&b": an empty pair names nothing
    if (name.find_first_of("%+") != std::string_view::npos) {
      if (decoded.size() <= escaped) decoded.emplace_back();
      std::string raw(name);
      for (char& c : raw)
        if (c == '+') c = ' ';
      if (!percent_decode(raw, decoded[escaped])) decoded[escaped] = raw;  // a stray '%' is kept as typed
      name = decoded[escaped++];
    }
    for (std::string_view seen : names)
      if (seen == name) return std::string(name);
    names.push_back(name);
  }
  return std::nullopt;
}

Route& Router::add_route(Method method, std::string_view pattern, const char* name) {
  Route r;
  r.method = method;
  r.pattern = std::string(pattern);
  r.name = name;
  size_t pos = 1;
  while (pos <= pattern.size()) {
    size_t slash = pattern.find('/', pos);
    std::string_view seg = pattern.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    Route::Segment s;
    s.param = seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
    if (!s.param) s.literal = std::string(seg);
    r.segments.push_back(std::move(s));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  routes_.push_back(std::move(r));
  return routes_.back();
}

void Router::add(Method method, std::string_view pattern, const char* name, LoopHandler handler) {
  add_route(method, pattern, name).loop = handler;
}

void Router::add(Method method, std::string_view pattern, const char* name, ServiceHandler handler,
                 MemoryHandler memory) {
  Route& route = add_route(method, pattern, name);
  route.service = handler;
  route.memory = memory;
}

void Router::add_not_implemented(Method method, std::string_view pattern, const char* operation_id) {
  add_route(method, pattern, operation_id).not_implemented = true;
}

void Router::add_legacy(Method method, std::string_view pattern, const char* name, ServiceHandler handler) {
  Route& route = add_route(method, pattern, name);
  route.service = handler;
  route.legacy = true;
}

void Router::add_public_read(Method method, std::string_view pattern, const char* name, ServiceHandler handler,
                             MemoryHandler memory) {
  add(method, pattern, name, handler, memory);
  routes_.back().anonymous = true;
}

void Router::add_anonymous(Method method, std::string_view pattern, const char* name, ServiceHandler handler) {
  add(method, pattern, name, handler);
  routes_.back().anonymous = true;
}

void Router::add_public(Method method, std::string_view pattern, const char* name, PublicHandler handler) {
  add_route(method, pattern, name).open = handler;
}

RouteMatch Router::match(Method method, std::string_view path, std::vector<std::string>& params) const {
  // Reused per thread: the decoded segments of the current path.
  thread_local std::vector<std::string> segments;
  size_t count = 0;
  RouteMatch result;
  params.clear();
  if (!split_path(path, segments, count)) {
    result.outcome = RouteMatch::Outcome::bad_path;
    return result;
  }
  for (const Route& route : routes_) {
    if (!matches(route, segments, count)) continue;
    if (route.method != method) {
      std::string_view name = method_name(route.method);
      if (result.allow.find(name) == std::string::npos) {
        if (!result.allow.empty()) result.allow += ", ";
        result.allow += name;
      }
      continue;
    }
    result.outcome = RouteMatch::Outcome::found;
    result.route = &route;
    for (size_t i = 0; i < count; ++i)
      if (route.segments[i].param) params.push_back(segments[i]);
    return result;
  }
  if (!result.allow.empty()) result.outcome = RouteMatch::Outcome::method_not_allowed;
  return result;
}

}  // namespace rt::server
