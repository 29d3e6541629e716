// Hardening of the HTTP layer against a real server: oversized headers (431), unknown routes (404) and
// wrong methods (405) with JSON bodies, a stalled client cut off after --read-timeout without holding up
// others, the connection cap, and /metrics exposing request counts without secrets.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include "support/api_fixture.h"
#include "support/raw_socket.h"

namespace rt::test {
namespace {

using namespace std::chrono_literals;

bool is_json_error(const HttpResponse& r) {
  auto j = r.json();
  return j.is_object() && j["error"].is_string() && j["message"].is_string();
}

TEST(Hardening, HugeHeaderIs431AndTheServerCarriesOn) {
  ServerProcess server;
  HttpClient http(server.base_url());
  auto r = http.get("/api/v3/health", {"X-Padding: " + std::string(64 * 1024, 'a')});
  EXPECT_EQ(r.status, 431) << r.body.substr(0, 200);
  HttpClient fresh(server.base_url());
  EXPECT_EQ(fresh.get("/api/v3/health").status, 200);
}

TEST(Hardening, UnknownRoutesAre404AndWrongMethods405WithJsonBodies) {
  ServerProcess server;
  HttpClient http(server.base_url());
  for (auto path : {"/api/v3/nope", "/nothing", "/api/v3/organizations/gh", "/api/v4/health", "/consolex"}) {
    auto r = http.get(path);
    EXPECT_TRUE(IsApiError(r, 404)) << path;
  }
  EXPECT_TRUE(IsApiError(http.post("/api/v3/nope", nlohmann::json::object()), 404));
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"DELETE", "/api/v3/health"}, {"POST", "/api/v3/version"}, {"PUT", "/api/v3/user"},
           {"PATCH", "/api/v3/organizations"}, {"GET", "/api/v3/repositories"}}) {
    auto r = http.request(method, path);
    EXPECT_EQ(r.status, 405) << method << " " << path << ": " << r.body;
    EXPECT_TRUE(is_json_error(r)) << method << " " << path << ": " << r.body;
  }
}

TEST(Hardening, StalledClientIsCutOffAfterReadTimeoutWithoutBlockingOthers) {
  ServerProcess server(ServerOptions{.extra_args = {"--read-timeout", "1", "--idle-timeout", "2", "--threads", "1"}});
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int i = 0; i < 4; ++i) {
    stalled.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(stalled.back()->connected());
    ASSERT_TRUE(stalled.back()->send_all("GET /api/v3/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  }
  // Others are served meanwhile, even on a single event-loop thread.
  HttpClient http(server.base_url());
  EXPECT_EQ(http.get("/api/v3/health").status, 200);

  auto start = std::chrono::steady_clock::now();
  for (auto& c : stalled) {
    bool closed = false;
    c->read_until_closed(10s, closed);
    EXPECT_TRUE(closed) << "a client that sent half a request was never disconnected";
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 8s);

  // A connection that sends nothing at all is closed after the idle timeout.
  RawConnection idle(server.port());
  ASSERT_TRUE(idle.connected());
  bool closed = false;
  idle.read_until_closed(10s, closed);
  EXPECT_TRUE(closed) << "an idle connection was never closed";
  EXPECT_EQ(HttpClient(server.base_url()).get("/api/v3/health").status, 200);
}

TEST(Hardening, ConnectionsBeyondTheCapAreClosed) {
  ServerProcess server(ServerOptions{.extra_args = {"--max-connections", "4", "--idle-timeout", "30"}});
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < 12; ++i) {
    conns.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(conns.back()->connected());  // the kernel accepts; the server then decides
  }
  int closed_count = 0;
  for (auto& c : conns) {
    bool closed = false;
    c->read_until_closed(300ms, closed);
    closed_count += closed;
  }
  EXPECT_GE(closed_count, 8) << "more than 4 connections were kept open";
  conns.clear();
  // Capacity comes back when connections go away (bounded poll).
  long status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = HttpClient(server.base_url()).get("/api/v3/health").status;
    if (status != 200) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 200);
}

// Sum of the samples of metrics whose name contains `name_part` and whose labels contain `label`.
double metric_sum(const std::string& text, const std::string& name_part, const std::string& label) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto name_end = line.find_first_of("{ ");
    std::string name = line.substr(0, name_end);
    if (name.find(name_part) == std::string::npos || name.find("_bucket") != std::string::npos ||
        name.find("_sum") != std::string::npos)
      continue;
    if (!label.empty() && line.find(label) == std::string::npos) continue;
    sum += std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
  }
  return sum;
}

TEST(Hardening, MetricsExposeRequestCountsAndNoSecrets) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme", {"api"});
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  auto r = http.get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.header("content-type").find("text/plain"), std::string::npos) << r.header("content-type");
  double before_404 = metric_sum(r.body, "request", "status=\"404\"");
  double before_200 = metric_sum(r.body, "request", "status=\"200\"");
  EXPECT_GE(before_200, 1) << r.body;

  for (int i = 0; i < 3; ++i) EXPECT_EQ(http.get("/api/v3/no-such-route").status, 404);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(http.get(repo_path("gh", "acme", "api"), {project_token(t.secret)}).status, 200);
  r = http.get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_GE(metric_sum(r.body, "request", "status=\"404\"") - before_404, 3) << r.body;
  EXPECT_GE(metric_sum(r.body, "request", "status=\"200\"") - before_200, 3) << r.body;
  EXPECT_NE(r.body.find("_bucket{"), std::string::npos) << "no latency histogram";
  EXPECT_GE(metric_sum(r.body, "token", "created"), 1) << "tokens created are not counted";
  EXPECT_EQ(r.body.find(t.secret.substr(5, 43)), std::string::npos);
  EXPECT_EQ(r.body.find(w.admin.token.substr(5, 43)), std::string::npos);
}

}  // namespace
}  // namespace rt::test
