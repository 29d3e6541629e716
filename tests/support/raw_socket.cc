// Test harness: RawConnection over POSIX sockets with poll-based deadlines.
#include "support/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace rt::test {

RawConnection::RawConnection(int port) : RawConnection(port, "") {}

RawConnection::RawConnection(int port, const std::string& from_address) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  if (!from_address.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (inet_pton(AF_INET, from_address.c_str(), &local.sin_addr) != 1 ||
        bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::send_all(const std::string& bytes) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

std::string RawConnection::read_until_closed(std::chrono::milliseconds timeout, bool& closed) {
  using Clock = std::chrono::steady_clock;
  std::string got = std::move(pending_);
  pending_.clear();
  closed = false;
  auto deadline = Clock::now() + timeout;
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return got;
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got;
    char buf[16384];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      got.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      closed = true;
      return got;
    }
  }
  return got;
}

bool RawConnection::wait_readable(std::chrono::steady_clock::time_point deadline) {
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
  return false;
}

std::string RawConnection::read_response(std::chrono::milliseconds timeout, bool to_head) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string got = std::move(pending_);
  pending_.clear();
  size_t wanted = std::string::npos;  // head + body, once the head is in
  while (true) {
    if (wanted == std::string::npos) {
      if (size_t end = got.find("\r\n\r\n"); end != std::string::npos) {
        size_t length = 0;
        std::string head = got.substr(0, end);
        for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (size_t at = head.find("\r\ncontent-length:"); at != std::string::npos)
          length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
        if (head.starts_with("http/1.1 1")) {  // an interim answer (100 Continue): the real one follows
          got.erase(0, end + 4);
          continue;
        }
        wanted = end + 4 + (to_head ? 0 : length);
      }
    }
    if (wanted != std::string::npos && got.size() >= wanted) {
      pending_ = got.substr(wanted);
      got.resize(wanted);
      return got;
    }
    if (!wait_readable(deadline)) return got;
    char buf[16384];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return got;
    got.append(buf, static_cast<size_t>(n));
  }
}

std::string RawConnection::exchange(const std::string& request, std::chrono::milliseconds timeout) {
  if (!send_all(request)) return {};
  return read_response(timeout, request.starts_with("HEAD "));
}

std::string RawConnection::exchange_until_closed(const std::string& request, bool& closed,
                                                 std::chrono::milliseconds timeout) {
  closed = false;
  if (!send_all(request)) return {};
  return read_until_closed(timeout, closed);
}

std::string raw_request(const std::string& method, const std::string& target, const std::vector<std::string>& headers,
                        const std::string& body) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : headers) out += h + "\r\n";
  if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

int response_status(const std::string& response) {
  if (!response.starts_with("HTTP/1.") || response.size() < 12) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

std::string response_header(const std::string& response, const std::string& name) {
  std::string head = response.substr(0, response.find("\r\n\r\n"));
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string key = "\r\n" + name + ":";
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t at = lower.find(key);
  if (at == std::string::npos) return "";
  size_t start = head.find_first_not_of(' ', at + key.size());
  size_t end = head.find("\r\n", at + 2);
  return head.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string response_body(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

int count_responses(const std::string& bytes) {
  int n = bytes.starts_with("HTTP/1.") ? 1 : 0;
  for (size_t at = bytes.find("\r\nHTTP/1."); at != std::string::npos; at = bytes.find("\r\nHTTP/1.", at + 2)) ++n;
  return n;
}

}  // namespace rt::test
