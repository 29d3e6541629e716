// webhook_load: webhook delivery throughput beside token creation, in one run (bench/webhooks.sh drives it).
// It runs its own webhook receiver (a small HTTP/1.1 keep-alive server on a loopback port, one thread per
// connection, answering 204 at once), registers it as a webhook of ORG for token.created, then creates
// tokens as fast as CONNECTIONS keep-alive clients can, each named after the wall-clock microsecond it was
// sent, and waits for their events. Lag = arrival at the receiver - the creation request's send time.
//
//   webhook_load BASE_URL ADMIN_TOKEN ORG REPOS TOKENS CONNECTIONS SECONDS
//   webhook_load --sink-ceiling CONNECTIONS SECONDS    (the receiver's own ceiling, req/s)
//
// Prints key=value lines: created, create_seconds, created_per_s, delivered, delivered_during_creation,
// delivered_per_s_during_creation, drain_seconds, delivered_per_s, lag_p50_ms, lag_p99_ms, lag_max_ms,
// missing. Bounded: at most TOKENS creations and SECONDS of creating, then at most 120 s of waiting.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The receiver: records, for each request, its arrival time and the send time encoded in the token name.
class Sink {
 public:
  Sink() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 128) != 0) {
      std::perror("sink: bind/listen");
      std::exit(1);
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    std::thread([this] { accept_loop(); }).detach();
  }
  int port() const { return port_; }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return arrivals_.size();
  }
  // (arrival, sent) pairs in microseconds; sent is 0 when the body named no bench token.
  std::vector<std::pair<std::int64_t, std::int64_t>> arrivals() {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }

 private:
  void accept_loop() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::thread([this, c] { serve(c); }).detach();
    }
  }
  void serve(int c) {
    std::string buf;
    char chunk[16384];
    for (;;) {
      std::size_t head_end;
      while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::read(c, chunk, sizeof chunk);
        if (n <= 0) return (void)::close(c);
        buf.append(chunk, static_cast<std::size_t>(n));
      }
      std::size_t length = 0;
      std::string head = buf.substr(0, head_end);
      for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (auto at = head.find("content-length:"); at != std::string::npos)
        length = std::strtoul(head.c_str() + at + 15, nullptr, 10);
      const bool close_after = head.find("connection: close") != std::string::npos;
      while (buf.size() < head_end + 4 + length) {
        ssize_t n = ::read(c, chunk, sizeof chunk);
        if (n <= 0) return (void)::close(c);
        buf.append(chunk, static_cast<std::size_t>(n));
      }
      const std::string body = buf.substr(head_end + 4, length);
      buf.erase(0, head_end + 4 + length);
      const std::int64_t arrived = wall_us();
      std::int64_t sent = 0;
      if (auto at = body.find("\"name\":\"wh"); at != std::string::npos) sent = std::strtoll(body.c_str() + at + 10, nullptr, 10);
      {
        std::lock_guard lock(mutex_);
        arrivals_.emplace_back(arrived, sent);
      }
      static const char kReply[] = "HTTP/1.1 204 No Content\r\n\r\n";
      if (::write(c, kReply, sizeof kReply - 1) < 0 || close_after) return (void)::close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<std::pair<std::int64_t, std::int64_t>> arrivals_;
};

size_t ignore(char*, size_t size, size_t n, void*) { return size * n; }

struct Client {
  Client() : curl(curl_easy_init()) {}
  ~Client() {
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
  }
  // POST `body` to `url`; the HTTP status, or 0 when the transfer failed.
  long post(const std::string& url, const std::string& body) {
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ignore);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    if (curl_easy_perform(curl) != CURLE_OK) return 0;
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }
  CURL* curl;
  curl_slist* headers = nullptr;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

int sink_ceiling(int connections, double seconds) {
  Sink sink;
  const std::string url = "http://127.0.0.1:" + std::to_string(sink.port()) + "/hook";
  const std::string body(420, 'x');  // about the size of a token.created body
  std::atomic<long> ok{0};
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i)
    threads.emplace_back([&] {
      Client c;
      c.headers = curl_slist_append(c.headers, "Content-Type: application/json");
      while (std::chrono::steady_clock::now() < end)
        if (c.post(url, body) == 204) ++ok;
    });
  for (auto& t : threads) t.join();
  std::printf("sink_requests_per_s=%.0f\n", static_cast<double>(ok) / seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (argc == 4 && std::string(argv[1]) == "--sink-ceiling") return sink_ceiling(std::atoi(argv[2]), std::atof(argv[3]));
  if (argc != 8) {
    std::fprintf(stderr, "usage: webhook_load BASE_URL ADMIN_TOKEN ORG REPOS TOKENS CONNECTIONS SECONDS\n"
                         "       webhook_load --sink-ceiling CONNECTIONS SECONDS\n");
    return 2;
  }
  const std::string base = argv[1], admin = argv[2], org = argv[3];
  const int repos = std::atoi(argv[4]), tokens = std::atoi(argv[5]), connections = std::atoi(argv[6]);
  const double seconds = std::atof(argv[7]);
  Sink sink;
  const std::string org_url = base + "/api/v3/organizations/gh/" + org;
  {
    Client c;
    c.headers = curl_slist_append(c.headers, ("api-token: " + admin).c_str());
    c.headers = curl_slist_append(c.headers, "Content-Type: application/json");
    const long status = c.post(org_url + "/webhooks",
                               "{\"url\":\"http://127.0.0.1:" + std::to_string(sink.port()) +
                                   "/hook\",\"secret\":\"bench-webhook-secret-0123456789\",\"events\":[\"token.created\"]}");
    if (status != 201) {
      std::fprintf(stderr, "adding the webhook answered %ld\n", status);
      return 1;
    }
  }
  std::atomic<int> next{0};
  std::atomic<int> created{0}, refused{0};
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t start_wall = wall_us();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t)
    threads.emplace_back([&] {
      Client c;
      c.headers = curl_slist_append(c.headers, ("api-token: " + admin).c_str());
      c.headers = curl_slist_append(c.headers, "Content-Type: application/json");
      char repo[32];
      for (int i; (i = next++) < tokens && std::chrono::steady_clock::now() < end;) {
        std::snprintf(repo, sizeof repo, "r%06d", i % repos);
        const std::string name = "wh" + std::to_string(wall_us()) + "-" + std::to_string(i);
        if (c.post(org_url + "/repositories/" + repo + "/tokens", "{\"name\":\"" + name + "\"}") == 201) ++created;
        else ++refused;
      }
    });
  for (auto& t : threads) t.join();
  const double create_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::int64_t create_end_wall = wall_us();
  const std::size_t during = sink.count();
  // Wait for the backlog: until every event is in, or nothing arrived for 20 s, or 120 s in all.
  const auto wait_end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::size_t seen = during;
  auto last_progress = std::chrono::steady_clock::now();
  while (sink.count() < static_cast<std::size_t>(created.load()) && std::chrono::steady_clock::now() < wait_end &&
         std::chrono::steady_clock::now() - last_progress < std::chrono::seconds(20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (sink.count() != seen) {
      seen = sink.count();
      last_progress = std::chrono::steady_clock::now();
    }
  }
  auto arrivals = sink.arrivals();
  std::vector<double> lags;
  std::int64_t last_arrival = start_wall;
  std::size_t delivered_during = 0;
  for (auto [arrived, sent] : arrivals) {
    if (sent > 0) lags.push_back(static_cast<double>(arrived - sent) / 1000.0);
    last_arrival = std::max(last_arrival, arrived);
    if (arrived <= create_end_wall) ++delivered_during;
  }
  (void)during;
  const double drain = static_cast<double>(last_arrival - start_wall) / 1e6;
  std::printf("created=%d\nrefused=%d\ncreate_seconds=%.2f\ncreated_per_s=%.0f\n", created.load(), refused.load(),
              create_seconds, created / create_seconds);
  std::printf("delivered=%zu\ndelivered_during_creation=%zu\ndelivered_per_s_during_creation=%.0f\n", arrivals.size(),
              delivered_during, static_cast<double>(delivered_during) / create_seconds);
  std::printf("drain_seconds=%.2f\ndelivered_per_s=%.0f\n", drain, drain > 0 ? static_cast<double>(arrivals.size()) / drain : 0);
  std::printf("lag_p50_ms=%.0f\nlag_p99_ms=%.0f\nlag_max_ms=%.0f\nmissing=%ld\n", percentile(lags, 0.5),
              percentile(lags, 0.99), percentile(lags, 1.0),
              static_cast<long>(created.load()) - static_cast<long>(arrivals.size()));
  return 0;
}
