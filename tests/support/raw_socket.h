// Test harness: a plain TCP connection to a loopback port, for what libcurl will not send (half a request,
// a stalled client, many idle connections). Blocking calls with deadlines; the socket closes on destruction.
#pragma once

#include <chrono>
#include <string>

namespace rt::test {

class RawConnection {
 public:
  explicit RawConnection(int port);  // connects to 127.0.0.1:port; connected() says whether it worked
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_all(const std::string& bytes);
  // Reads until the peer closes the connection or `timeout` passes. `closed` says which happened
  // (a reset counts as closed). Returns what arrived.
  std::string read_until_closed(std::chrono::milliseconds timeout, bool& closed);

 private:
  int fd_ = -1;
};

}  // namespace rt::test
