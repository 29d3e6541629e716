// Internals shared by the listener, the sessions and the server (Beast and Asio inside: include this only
// from those .cc files). One Worker per event-loop thread; one ServerContext for the whole process.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/intrusive/list.hpp>

#include "server/config.h"
#include "server/router.h"
#include "service/service.h"

namespace rt::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// Open connections per client address, shared by every worker (taken once per connection, never per
// request), so that one address cannot hold them all (--max-connections-per-address).
class ConnectionsByAddress {
 public:
  // Counts one more connection from `address`; false (and nothing counted) when it already has `cap`.
  bool try_add(const asio::ip::address& address, int cap);
  void remove(const asio::ip::address& address);

 private:
  std::mutex mu_;
  std::unordered_map<asio::ip::address, int> open_;
};

struct ServerContext {
  const ServeConfig& config;
  Service& service;
  const Router& router;
  asio::thread_pool& pool;
  std::atomic<int> open_connections{0};
  std::atomic<bool> draining{false};
  ConnectionsByAddress by_address{};
};

// A connection while it waits for the first byte of a request (its first one, or the next on a keep-alive
// connection): the one kind the server may close at any moment without losing work. Lives in the
// session's coroutine frame and leaves its list by itself when the frame goes.
struct IdleConnection
    : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
  beast::tcp_stream* stream = nullptr;
};
using IdleList = boost::intrusive::list<IdleConnection, boost::intrusive::constant_time_size<false>>;

struct Worker {
  // Idle connections, oldest first; touched only on this worker's thread. Declared before the io_context
  // so that it outlives the coroutine frames the io_context destroys.
  IdleList idle;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
};

// Accepts connections on `worker.acceptor` until it is closed, each served by `serve_connection`.
asio::awaitable<void> accept_loop(ServerContext& ctx, Worker& worker);

// Serves one HTTP/1.1 connection: keep-alive, limits, timeouts, routing, the hop to the pool. The acceptor
// has counted it (in ctx.open_connections and ctx.by_address under `peer`); the session uncounts it.
asio::awaitable<void> serve_connection(ServerContext& ctx, Worker& worker, tcp::socket socket, asio::ip::address peer);

// Closes this worker's oldest idle connection to make room for a new one; false when it has none.
bool shed_idle_connection(Worker& worker);

}  // namespace rt::server
