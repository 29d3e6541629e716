// Accepting connections: one acceptor per worker on the same port (SO_REUSEPORT lets the kernel spread
// new connections across the workers), and who gets in. A new connection from an address that already holds
// --max-connections-per-address is closed at once; at --max-connections the worker's longest-idle
// connection (one waiting for a request, so no work is lost) is closed to make room, and only when it has
// none is the new one refused. Either way one client cannot keep the others out.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/metrics.h"
#include "server/log.h"
#include "server/net.h"

namespace rt::server {

bool ConnectionsByAddress::try_add(const asio::ip::address& address, int cap) {
  std::lock_guard lock(mu_);
  int& open = open_[address];
  if (open >= cap) {
    if (open == 0) open_.erase(address);
    return false;
  }
  ++open;
  return true;
}

void ConnectionsByAddress::remove(const asio::ip::address& address) {
  std::lock_guard lock(mu_);
  auto it = open_.find(address);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

bool shed_idle_connection(Worker& worker) {
  if (worker.idle.empty()) return false;
  IdleConnection& oldest = worker.idle.front();
  oldest.unlink();  // once: the session sees its read cancelled and closes
  beast::error_code ignored;
  oldest.stream->socket().cancel(ignored);
  metrics::add("repotokens_http_connections_shed_total");
  return true;
}

namespace {

void refuse(tcp::socket& socket, const char* labels) {
  metrics::add("repotokens_http_connections_refused_total", labels);
  beast::error_code ignored;
  socket.close(ignored);
}

}  // namespace

asio::awaitable<void> accept_loop(ServerContext& ctx, Worker& worker) {
  asio::steady_timer backoff(worker.ioc);
  while (worker.acceptor.is_open()) {
    auto [ec, socket] = co_await worker.acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !worker.acceptor.is_open()) break;
      // Out of descriptors or similar: do not spin; try again shortly.
      log_warn("accept failed: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (ctx.draining.load(std::memory_order_relaxed)) {
      refuse(socket, "reason=\"draining\"");
      continue;
    }
    beast::error_code peer_ec;
    const asio::ip::address peer = socket.remote_endpoint(peer_ec).address();
    if (peer_ec) {  // already gone
      refuse(socket, "reason=\"gone\"");
      continue;
    }
    // The address's own cap first, so that a refused newcomer never costs someone else's idle connection.
    if (!ctx.by_address.try_add(peer, ctx.config.max_connections_per_address)) {
      refuse(socket, "reason=\"per-address\"");
      continue;
    }
    if (ctx.open_connections.load(std::memory_order_relaxed) >= ctx.config.max_connections &&
        !shed_idle_connection(worker)) {
      ctx.by_address.remove(peer);
      refuse(socket, "reason=\"max-connections\"");
      continue;
    }
    int open = ctx.open_connections.fetch_add(1) + 1;
    metrics::set_gauge("repotokens_http_open_connections", "", open);
    asio::co_spawn(worker.ioc, serve_connection(ctx, worker, std::move(socket), peer), asio::detached);
  }
}

}  // namespace rt::server
