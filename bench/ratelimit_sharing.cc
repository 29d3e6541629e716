// Issue 13's comparison of shared rate-limit designs, two limiter instances ("nodes") in one process
// sharing one Redis: exact (RedisLimiter, a round trip per decision: today's design), A (LeaseLimiter,
// bench/lease_limiter.h) and B (SharedLimiter: local decisions, reported and pulled every 5 ms), with two
// unshared in-process GCRAs as the yardstick. Prints a Markdown table: decisions/s and CPU µs per decision
// (this process, background threads included, + Redis from INFO cpu) with 2 threads per node, and the
// admitted ÷ limit ratio under 10× overload, and admitted ÷ offered under an uneven load below the limit,
// spread out and in back-to-back pairs against a burst of 2.
// Run: REPOTOKENS_BENCH_REDIS=redis://127.0.0.1:PORT build/bench/ratelimit_sharing [SECONDS] (bench/scaleout.sh).
#include <hiredis/hiredis.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "lease_limiter.h"
#include "ratelimit/gcra.h"
#include "ratelimit/redis_limiter.h"
#include "ratelimit/shared_limiter.h"

namespace {
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double redis_cpu_seconds(const rt::RedisEndpoint& ep) {
  redisContext* c = redisConnect(ep.host.c_str(), ep.port);
  double total = 0;
  auto* r = static_cast<redisReply*>(redisCommand(c, "INFO cpu"));
  if (r && r->type == REDIS_REPLY_STRING) {
    std::string text(r->str, r->len);
    for (const char* field : {"used_cpu_sys:", "used_cpu_user:"})
      if (auto at = text.find(field); at != std::string::npos) total += std::atof(text.c_str() + at + std::strlen(field));
  }
  freeReplyObject(r);
  redisFree(c);
  return total;
}

// Outages the Redis-backed limiters have seen so far (a figure taken during one is the local fallback's).
long outages() {
  const std::string text = rt::metrics::render(), name = "\nrepotokens_ratelimit_redis_outages_total ";
  auto at = text.find(name);
  return at == std::string::npos ? 0 : std::atol(text.c_str() + at + name.size());
}

struct Nodes {
  std::string label;
  std::function<std::pair<std::unique_ptr<rt::Limiter>, std::unique_ptr<rt::Limiter>>()> make;
};

template <class L, class O>
std::unique_ptr<rt::Limiter> make_one(const std::string& url, O options) {
  auto r = L::create(url, std::move(options));
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

struct Throughput {
  double per_second, cpu_us, redis_us, allowed_share;
};

// Saturation: 2 threads per node, each over `keys` keys, for `seconds`.
Throughput saturate(rt::Limiter& a, rt::Limiter& b, const rt::RedisEndpoint& ep, int keys, double seconds,
                    const std::string& rule_name) {
  const rt::RateLimitRule rule{rule_name, 1e6, 1'000'000};
  std::atomic<long> decisions{0}, allowed{0};
  std::atomic<bool> stop{false};
  const double cpu0 = process_cpu_seconds(), redis0 = redis_cpu_seconds(ep);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      rt::Limiter& node = t % 2 ? a : b;
      long n = 0, ok = 0;
      for (int i = t * 7919; !stop.load(std::memory_order_relaxed); ++i, ++n)
        ok += node.check("r:" + std::to_string(i % keys), rule).allowed;
      decisions += n;
      allowed += ok;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double n = static_cast<double>(decisions.load());
  return {n / wall, (process_cpu_seconds() - cpu0) * 1e6 / n, (redis_cpu_seconds(ep) - redis0) * 1e6 / n,
          allowed.load() / n};
}

// Paced load: `per_node_a` / `per_node_b` requests/s offered to the nodes (2 threads each) on one key for
// `seconds`, arriving `together` at a time (back to back).
std::pair<long, long> paced(rt::Limiter& a, rt::Limiter& b, const rt::RateLimitRule& rule, double per_node_a,
                            double per_node_b, double seconds, int together = 1) {
  std::atomic<long> offered{0}, admitted{0};
  const auto start = Clock::now();
  const auto span = std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      rt::Limiter& node = t % 2 ? b : a;
      const double rate = (t % 2 ? per_node_b : per_node_a) / 2 / together;
      const auto step = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / rate));
      long n = 0, ok = 0;
      for (auto next = start + step * (t / 2) / 2; next - start < span; next += step, ++n) {
        std::this_thread::sleep_until(next);
        for (int k = 0; k < together; ++k) ok += node.check("r:paced", rule).allowed;
      }
      n *= together;
      offered += n;
      admitted += ok;
    });
  for (auto& t : threads) t.join();
  return {offered.load(), admitted.load()};
}

}  // namespace

int main(int argc, char** argv) {
  const char* url = std::getenv("REPOTOKENS_BENCH_REDIS");
  if (!url) {
    std::fprintf(stderr, "set REPOTOKENS_BENCH_REDIS=redis://HOST:PORT (bench/scaleout.sh starts one)\n");
    return 2;
  }
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3;
  auto ep = rt::parse_redis_url(url);
  if (!ep.ok()) {
    std::fprintf(stderr, "%s\n", ep.error().message.c_str());
    return 2;
  }
  const std::string u = url;
  std::vector<Nodes> designs = {
      {"in-process only, unshared (yardstick)",
       [] { return std::pair{std::unique_ptr<rt::Limiter>(new rt::GcraLimiter), std::unique_ptr<rt::Limiter>(new rt::GcraLimiter)}; }},
      {"exact: RedisLimiter, a round trip per decision (before)",
       [u] { return std::pair{make_one<rt::RedisLimiter>(u, rt::RedisLimiterOptions{}), make_one<rt::RedisLimiter>(u, rt::RedisLimiterOptions{})}; }},
      {"A: leases (LeaseLimiter)",
       [u] { return std::pair{make_one<rt::LeaseLimiter>(u, rt::LeaseLimiterOptions{}), make_one<rt::LeaseLimiter>(u, rt::LeaseLimiterOptions{})}; }},
      {"B: local + report/pull every 5 ms (SharedLimiter)",
       [u] { return std::pair{make_one<rt::SharedLimiter>(u, rt::SharedLimiterOptions{}), make_one<rt::SharedLimiter>(u, rt::SharedLimiterOptions{})}; }},
  };
  const rt::RateLimitRule limit{"", 1000, 100};  // 1,000/s, 100 at once
  const double exact_admissions = limit.rate_per_second * seconds + limit.burst;
  std::printf("| design (2 nodes, 2 threads each) | decisions/s, 1 hot key | CPU µs/decision (process + Redis) | "
              "decisions/s, 10,000 keys | CPU µs/decision | admitted ÷ limit, 10× overload | "
              "admitted ÷ offered, 0.8× load split 90/10 | the same in back-to-back pairs, burst 2 |\n"
              "|---|---|---|---|---|---|---|---|\n");
  int round = 0;
  for (const Nodes& d : designs) {
    const std::string tag = "bench" + std::to_string(round++) + "-" + std::to_string(std::time(nullptr));
    auto [a, b] = d.make();
    const long outages_before = outages();
    Throughput hot = saturate(*a, *b, *ep, 1, seconds, tag + "-hot");
    Throughput wide = saturate(*a, *b, *ep, 10'000, seconds, tag + "-wide");
    rt::RateLimitRule over = limit;
    over.name = tag + "-over";
    auto [offered_over, admitted_over] = paced(*a, *b, over, 5000, 5000, seconds);
    rt::RateLimitRule under = limit;
    under.name = tag + "-under";
    auto [offered_under, admitted_under] = paced(*a, *b, under, 720, 80, seconds);
    // Pairs of requests back to back, at 0.8x a limit of 1,000/s with a burst of 2: every pair fits the
    // limit, but only if a node may spend the whole burst at once.
    const rt::RateLimitRule pairs{tag + "-pairs", 1000, 2};
    auto [offered_pairs, admitted_pairs] = paced(*a, *b, pairs, 720, 80, seconds, 2);
    std::printf("| %s | %.0f | %.2f + %.2f | %.0f | %.2f + %.2f | %.3f (%ld of %ld offered) | %.3f | %.3f |\n",
                d.label.c_str(), hot.per_second, hot.cpu_us, hot.redis_us, wide.per_second, wide.cpu_us, wide.redis_us,
                admitted_over / exact_admissions, admitted_over, offered_over,
                static_cast<double>(admitted_under) / offered_under, static_cast<double>(admitted_pairs) / offered_pairs);
    if (long n = outages() - outages_before; n > 0)
      std::printf("| ↑ %ld Redis outage(s) (timeouts) during these figures: they include per-node fallback | | | | | | | |\n", n);
    std::fflush(stdout);
  }
  std::printf("\nlimit %.0f/s, burst %d, %.1f s per figure; exact admissions in the overload run: rate × %.1f s + burst = "
              "%.0f; %u cores\n",
              limit.rate_per_second, limit.burst, seconds, seconds, exact_admissions, std::thread::hardware_concurrency());
  return 0;
}
