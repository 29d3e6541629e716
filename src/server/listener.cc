// Accepting connections: one acceptor per worker on the same port (SO_REUSEPORT lets the kernel spread
// new connections across the workers), the cap on open connections, and the refusal count.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/metrics.h"
#include "server/log.h"
#include "server/net.h"

namespace rt::server {

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
    if (ctx.draining.load(std::memory_order_relaxed) ||
        ctx.open_connections.load(std::memory_order_relaxed) >= ctx.config.max_connections) {
      metrics::add("repotokens_http_connections_refused_total");
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    int open = ctx.open_connections.fetch_add(1) + 1;
    metrics::set_gauge("repotokens_http_open_connections", "", open);
    asio::co_spawn(worker.ioc, serve_connection(ctx, worker, std::move(socket)), asio::detached);
  }
}

}  // namespace rt::server
