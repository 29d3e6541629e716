// Routing: method + path pattern ("/api/v3/organizations/{provider}/{org}") -> route. Each path segment is
// percent-decoded once before matching, so "%2F" inside a segment is data, never a separator.
// Linear over a few dozen routes of pre-split segments: no regex, no allocation beyond the parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/api.h"

namespace rt::server {

using LoopHandler = ApiResponse (*)(const ApiRequest&);
using ServiceHandler = ApiResponse (*)(Service&, const Principal&, const ApiRequest&);
// Optional companion of a ServiceHandler that answers on the event loop from the service's memory alone
// (Service::try_*_from_memory), or nullopt to go to the blocking pool as usual.
using MemoryHandler = std::optional<ApiResponse> (*)(Service&, const Principal&, const ApiRequest&);
// Runs on the blocking pool without the dispatcher's admission: for calls whose credential is in the body
// (the console's sign-in) or that end a credential (sign-out); the handler admits through the service.
using PublicHandler = ApiResponse (*)(Service&, const ApiRequest&);

struct Route {
  Method method = Method::get;
  std::string pattern;
  const char* name = "";  // the API.md operation name, used in metrics and logs
  // Exactly one of loop, service and open is set: loop handlers answer on the event loop without
  // credentials (health, version, metrics, the console's files); service handlers run on the blocking
  // pool after admission; open handlers run on the pool and admit for themselves.
  LoopHandler loop = nullptr;
  ServiceHandler service = nullptr;
  MemoryHandler memory = nullptr;
  PublicHandler open = nullptr;
  // A legacy /2.0 coverage route: refusals use the `{"error": text}` body, and the request body may be as
  // large as --max-coverage-body.
  bool legacy = false;
  // A Codacy operation that repotokensd does not serve: answered 501 NotImplemented naming `name` (its
  // operationId), on the event loop and without admission. No handler is set.
  bool not_implemented = false;
  // A read of a repository that answers without any credential when the repository is Public (the
  // service decides; a Private one is then a 404). Credentials, when sent, are checked as usual.
  bool anonymous = false;
  struct Segment {
    bool param = false;
    std::string literal;
  };
  std::vector<Segment> segments;
};

struct RouteMatch {
  enum class Outcome { found, not_found, method_not_allowed, bad_path } outcome = Outcome::not_found;
  const Route* route = nullptr;
  std::string allow;  // method_not_allowed: e.g. "GET, POST"
};

// Decodes %XX escapes once ('+' is left alone in paths). False on a malformed escape.
bool percent_decode(std::string_view in, std::string& out);

// The decoded name of the first query parameter that appears more than once ("limit=10&limit=20x" ->
// "limit"; "%6Cimit" and "limit" are one name), or nullopt when every name appears once. A request must
// not leave the server to pick one reading. Allocation-free for queries without escapes.
std::optional<std::string> repeated_query_parameter(std::string_view query);

class Router {
 public:
  void add(Method method, std::string_view pattern, const char* name, LoopHandler handler);
  void add(Method method, std::string_view pattern, const char* name, ServiceHandler handler,
           MemoryHandler memory = nullptr);
  void add_legacy(Method method, std::string_view pattern, const char* name, ServiceHandler handler);
  // A route that answers 501 naming `operation_id`. Matching is first-added-first, so served routes
  // added before it win over it.
  void add_not_implemented(Method method, std::string_view pattern, const char* operation_id);
  // A service route that also admits requests without credentials (Route::anonymous).
  void add_public_read(Method method, std::string_view pattern, const char* name, ServiceHandler handler,
                       MemoryHandler memory = nullptr);
  void add_public(Method method, std::string_view pattern, const char* name, PublicHandler handler);
  // A service route that needs no credential (Route::anonymous) and is not a repository read: the leak
  // reports, whose callers prove themselves otherwise (holding the secret, a signature, a shared token).
  void add_anonymous(Method method, std::string_view pattern, const char* name, ServiceHandler handler);

  // Matches `path` (no query string). On `found`, `params` holds the decoded parameters in pattern order.
  RouteMatch match(Method method, std::string_view path, std::vector<std::string>& params) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  Route& add_route(Method method, std::string_view pattern, const char* name);
  std::vector<Route> routes_;
};

// Every route of repotokensd (routes.cc).
Router make_router();

}  // namespace rt::server
