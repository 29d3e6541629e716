// Internals shared by the listener, the sessions and the server (Beast and Asio inside: include this only
// from those .cc files). One Worker per event-loop thread; one ServerContext for the whole process.
#pragma once

#include <atomic>
#include <thread>
#include <unordered_set>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "server/config.h"
#include "server/router.h"
#include "service/service.h"

namespace rt::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct ServerContext {
  const ServeConfig& config;
  Service& service;
  const Router& router;
  asio::thread_pool& pool;
  std::atomic<int> open_connections{0};
  std::atomic<bool> draining{false};
};

struct Worker {
  // Connections waiting for their next request; touched only on this worker's thread. Declared before the
  // io_context so that it outlives the coroutine frames the io_context destroys.
  std::unordered_set<beast::tcp_stream*> idle;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
};

// Accepts connections on `worker.acceptor` until it is closed, each served by `serve_connection`.
asio::awaitable<void> accept_loop(ServerContext& ctx, Worker& worker);

// Serves one HTTP/1.1 connection: keep-alive, limits, timeouts, routing, the hop to the pool.
asio::awaitable<void> serve_connection(ServerContext& ctx, Worker& worker, tcp::socket socket);

}  // namespace rt::server
