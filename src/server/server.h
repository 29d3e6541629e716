// The HTTP server: one io_context per event-loop thread, each with its own SO_REUSEPORT acceptor on the
// same port, and a separate thread pool for the blocking service calls. Beast stays behind the pimpl.
#pragma once

#include <cstdint>
#include <memory>

#include "core/result.h"
#include "server/config.h"
#include "service/service.h"

namespace rt::server {

class Server {
 public:
  Server(const ServeConfig& config, Service& service);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every acceptor (the first one learns the port when 0 was asked) and writes --port-file.
  // `unavailable` with the reason when the address cannot be bound.
  Status listen();
  std::uint16_t port() const;

  // Serves until SIGTERM or SIGINT, then drains: stops accepting, closes idle connections, lets in-flight
  // requests finish (up to --drain-timeout), and returns once every thread has stopped and every pending
  // service call has returned.
  void run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rt::server
