// One client must not lock everyone out: against a real server over raw sockets, hundreds of idle
// connections from one loopback address (127.0.0.1) leave a client on another (127.0.0.2) served, because
// of the per-address cap and because idle connections are shed first when the global cap is reached; and
// a connection that never sends a byte is cut off after --first-byte-timeout, one that sends half a head
// after --header-timeout.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/api_fixture.h"
#include "support/raw_socket.h"

namespace rt::test {
namespace {

using namespace std::chrono_literals;

using Connections = std::vector<std::unique_ptr<RawConnection>>;

Connections open_idle(int port, int n, const std::string& from = "127.0.0.1") {
  Connections out;
  for (int i = 0; i < n; ++i) {
    out.push_back(std::make_unique<RawConnection>(port, from));
    EXPECT_TRUE(out.back()->connected()) << "connection " << i;
  }
  return out;
}

// How many of the connections the server has closed (checked without waiting long on each).
int closed_count(Connections& conns) {
  int n = 0;
  for (auto& c : conns) {
    bool closed = false;
    c->read_until_closed(20ms, closed);  // enough for poll(2) to see a FIN or reset already there
    n += closed;
  }
  return n;
}

// Caps as given, timeouts long enough that no idle connection goes away by itself during a test, and one
// event-loop thread (a thread sheds only its own idle connections; with several, which thread the kernel
// gives a connection decides where room is made).
ServerOptions capped(int max_connections, int per_address) {
  return ServerOptions{.extra_args = {"--threads", "1", "--max-connections", std::to_string(max_connections),
                                      "--max-connections-per-address", std::to_string(per_address),
                                      "--first-byte-timeout", "60", "--idle-timeout", "60"}};
}

// The value of one sample on /metrics (-1 when absent).
int metric_of(const ServerProcess& server, const std::string& series) {
  HttpClient http(server.base_url());
  std::string text = http.get("/metrics").body;
  size_t at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::atoi(text.c_str() + at + series.size() + 2);
}

TEST(ConnectionFairness, ManyIdleConnectionsFromOneAddressLeaveAnotherAddressServed) {
  ServerProcess server(capped(500, 50));
  Connections idle = open_idle(server.port(), 600);
  // Beyond its 50, the address's connections are closed at once.
  EXPECT_TRUE(eventually([&] { return closed_count(idle) >= 550; }, 10s)) << closed_count(idle);
  RawConnection other(server.port(), "127.0.0.2");
  ASSERT_TRUE(other.connected());
  EXPECT_EQ(response_status(other.exchange(raw_request("GET", "/api/v3/health"))), 200);
  // 127.0.0.1 itself is not shut out: once it lets go of some, it is served again.
  idle.resize(10);
  EXPECT_TRUE(eventually([&] {
    RawConnection again(server.port());
    return response_status(again.exchange(raw_request("GET", "/api/v3/health"), 2s)) == 200;
  }, 10s));
  EXPECT_GE(metric_of(server, "repotokens_http_connections_refused_total{reason=\"per-address\"}"), 550);
}

TEST(ConnectionFairness, IdleConnectionsAreShedForANewOneAtTheGlobalCap) {
  ServerProcess server(capped(40, 1000));
  Connections idle = open_idle(server.port(), 40);
  std::this_thread::sleep_for(200ms);  // all 40 accepted and waiting for a first byte
  Connections others;  // kept open, so that each new one finds the server full
  for (int i = 0; i < 5; ++i) {
    others.push_back(std::make_unique<RawConnection>(server.port(), "127.0.0.2"));
    ASSERT_TRUE(others.back()->connected());
    EXPECT_EQ(response_status(others.back()->exchange(raw_request("GET", "/api/v3/health"))), 200) << "attempt " << i;
  }
  EXPECT_GE(closed_count(idle), 5) << "the oldest idle connections make room";

  // A keep-alive connection between requests is idle too: at the cap it gives way to a new one.
  ServerProcess one(capped(1, 1000));
  RawConnection kept(one.port());
  ASSERT_EQ(response_status(kept.exchange(raw_request("GET", "/api/v3/health"))), 200);
  RawConnection fresh(one.port(), "127.0.0.2");
  EXPECT_EQ(response_status(fresh.exchange(raw_request("GET", "/api/v3/health"))), 200);
  bool closed = false;
  kept.read_until_closed(5s, closed);
  EXPECT_TRUE(closed) << "the idle keep-alive connection was not shed";
  EXPECT_GE(metric_of(one, "repotokens_http_connections_shed_total"), 1);
}

TEST(ConnectionFairness, SilentAndSlowHeadsAreCutOffEarly) {
  ServerProcess server(ServerOptions{.extra_args = {"--first-byte-timeout", "0.5", "--header-timeout", "1",
                                                    "--idle-timeout", "60", "--read-timeout", "60"}});
  RawConnection silent(server.port());
  RawConnection slow(server.port());
  ASSERT_TRUE(slow.send_all("GET /api/v3/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  silent.read_until_closed(20s, closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "first-byte timeout not applied";
  slow.read_until_closed(20s, closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "header timeout not applied";
  // A keep-alive connection between requests still has the (longer) idle timeout.
  RawConnection kept(server.port());
  ASSERT_EQ(response_status(kept.exchange(raw_request("GET", "/api/v3/health"))), 200);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(response_status(kept.exchange(raw_request("GET", "/api/v3/health"))), 200);
}

}  // namespace
}  // namespace rt::test
