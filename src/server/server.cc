// Start-up, serving and the graceful drain of repotokensd's HTTP side (see server.h).
#include "server/server.h"

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "core/metrics.h"
#include "server/log.h"
#include "server/net.h"
#include "server/version.h"

namespace rt::server {

struct Server::Impl {
  const ServeConfig& config;
  Router router = make_router();
  asio::thread_pool pool;
  ServerContext ctx;
  std::deque<Worker> workers;  // deque: Workers never move once made
  std::uint16_t port = 0;
  // Installed before the port file is written, so a SIGTERM right after start-up is a clean drain.
  asio::io_context control;
  asio::signal_set signals{control, SIGTERM, SIGINT};

  Impl(const ServeConfig& c, Service& service)
      : config(c), pool(static_cast<std::size_t>(c.store_threads)), ctx{c, service, router, pool} {}
};

namespace {

Result<asio::ip::address> resolve_host(const std::string& host) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) return address;
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, "", ec);
  if (ec || results.empty()) return make_error(ErrorKind::invalid, "cannot resolve listen host " + host);
  return results.begin()->endpoint().address();
}

Status open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorKind::unavailable,
                      fmt::format("cannot listen on {}:{}: {}", endpoint.address().to_string(), endpoint.port(), ec.message()));
  return ok_status();
}

Status write_port_file(const std::string& path, std::uint16_t port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return make_error(ErrorKind::unavailable, "cannot write port file " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(ErrorKind::unavailable, "cannot write port file " + path + ": " + ec.message());
  return ok_status();
}

void describe_metrics() {
  metrics::describe("repotokens_http_requests_total", "counter", "HTTP requests by route and status");
  metrics::describe("repotokens_http_request_duration_seconds", "histogram", "HTTP request latency by route");
  metrics::describe("repotokens_http_open_connections", "gauge", "open HTTP connections");
  metrics::describe("repotokens_http_connections_refused_total", "counter",
                    "connections closed at once, by reason: per-address (--max-connections-per-address), "
                    "max-connections (full, and no idle connection to shed), draining, gone");
  metrics::describe("repotokens_http_connections_shed_total", "counter",
                    "idle connections closed to make room for a new one at --max-connections");
  metrics::set_gauge("repotokens_http_open_connections", "", 0);
  for (const char* reason : {"per-address", "max-connections", "draining", "gone"})
    metrics::add("repotokens_http_connections_refused_total", fmt::format("reason=\"{}\"", reason), 0);
  metrics::add("repotokens_http_connections_shed_total", "", 0);
}

}  // namespace

Server::Server(const ServeConfig& config, Service& service) : impl_(std::make_unique<Impl>(config, service)) {}

Server::~Server() {
  if (impl_) impl_->pool.join();
}

std::uint16_t Server::port() const { return impl_->port; }

Status Server::listen() {
  Impl& s = *impl_;
  RT_TRY(auto address, resolve_host(s.config.listen_host));
  tcp::endpoint endpoint(address, s.config.listen_port);
  for (int i = 0; i < s.config.threads; ++i) {
    Worker& w = s.workers.emplace_back();
    RT_TRY_STATUS(open_acceptor(w.acceptor, endpoint));
    if (i == 0) endpoint.port(w.acceptor.local_endpoint().port());  // port 0: the others join the chosen one
  }
  s.port = endpoint.port();
  if (!s.config.port_file.empty()) RT_TRY_STATUS(write_port_file(s.config.port_file, s.port));
  describe_metrics();
  return ok_status();
}

void Server::run() {
  Impl& s = *impl_;
  for (Worker& w : s.workers) {
    asio::co_spawn(w.ioc, accept_loop(s.ctx, w), asio::detached);
    w.thread = std::thread([&w] { w.ioc.run(); });
  }
  std::string where = fmt::format("{}:{}", s.config.listen_host, s.port);
  std::string banner = fmt::format("repotokensd {} listening on {} (db: {}, {} threads)", REPOTOKENS_VERSION, where,
                                   s.config.db, s.config.threads);
  if (s.config.log_json) log_info(banner);
  else std::fprintf(stderr, "%s\n", banner.c_str());

  // The main thread waits for the signal, then runs the drain.
  int received = 0;
  s.signals.async_wait([&](const beast::error_code&, int signo) { received = signo; });
  s.control.run();
  log_info(fmt::format("signal {} received: draining ({} open connections)", received, s.ctx.open_connections.load()));

  s.ctx.draining = true;
  for (Worker& w : s.workers) {
    asio::post(w.ioc, [&w] {
      beast::error_code ignored;
      w.acceptor.close(ignored);
      for (IdleConnection& idle : w.idle) idle.stream->socket().cancel(ignored);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(s.config.drain_timeout));
  while (s.ctx.open_connections.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  int left = s.ctx.open_connections.load();
  if (left > 0) log_warn(fmt::format("drain timeout: closing {} connections still busy", left));

  for (Worker& w : s.workers) w.ioc.stop();
  for (Worker& w : s.workers)
    if (w.thread.joinable()) w.thread.join();
  s.pool.join();  // service calls already running finish before the Service goes away
  s.workers.clear();
  log_info("drained");
}

}  // namespace rt::server
