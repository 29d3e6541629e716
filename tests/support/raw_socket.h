// Test harness: a plain TCP connection to a loopback port, for what libcurl will not send (half a request,
// a stalled client, many idle connections). Blocking calls with deadlines; the socket closes on destruction.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace rt::test {

class RawConnection {
 public:
  explicit RawConnection(int port);  // connects to 127.0.0.1:port; connected() says whether it worked
  // Connects from another loopback address (e.g. "127.0.0.2": all of 127.0.0.0/8 is local), so a test can
  // play a second client whose address differs from the first one's.
  RawConnection(int port, const std::string& from_address);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_all(const std::string& bytes);
  // Reads until the peer closes the connection or `timeout` passes. `closed` says which happened
  // (a reset counts as closed). Returns what arrived.
  std::string read_until_closed(std::chrono::milliseconds timeout, bool& closed);
  // Reads one response: its head, then as many body bytes as its Content-Length says (none when absent, or
  // when it answers a HEAD), until `timeout`. Whatever arrived, "" when nothing did. Bytes of a following
  // response stay unread.
  std::string read_response(std::chrono::milliseconds timeout, bool to_head = false);
  // Sends `request` and reads one response (read_response; a request starting "HEAD " expects no body).
  std::string exchange(const std::string& request, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends `request` and reads until the server closes (or `timeout`); `closed` says which happened.
  std::string exchange_until_closed(const std::string& request, bool& closed,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  bool wait_readable(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string pending_;  // read past the end of the last response
};

// "METHOD target HTTP/1.1" with Host, the given header lines ("Name: value", each without CRLF), a
// Content-Length when `body` is not empty, and the body; exactly those bytes, nothing normalised.
std::string raw_request(const std::string& method, const std::string& target, const std::vector<std::string>& headers = {},
                        const std::string& body = {});
// Pieces of a raw response: the status code (0 when there is no status line), a header's value ("" when
// absent; the name is matched case-insensitively) and the body (what follows the head).
int response_status(const std::string& response);
std::string response_header(const std::string& response, const std::string& name);
std::string response_body(const std::string& response);
// How many responses (status lines at the start of a message) a byte string holds.
int count_responses(const std::string& bytes);

}  // namespace rt::test
