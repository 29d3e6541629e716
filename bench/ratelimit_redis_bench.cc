// Rate-limit decisions per second: the Redis limiter (one EVALSHA round trip per decision) beside the
// in-process GCRA from the same invocation, from 1 and 16 threads over 10,000 keys.
// Run: bench/scaleout.sh, or set REPOTOKENS_BENCH_REDIS=redis://127.0.0.1:PORT yourself.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "ratelimit/gcra.h"
#include "ratelimit/redis_limiter.h"

namespace {

const rt::RateLimitRule kRule{"bench", 1e6, 1000};  // never refuses: measures the decision itself

void run(benchmark::State& state, rt::Limiter& limiter) {
  int i = state.thread_index() * 1000;
  for (auto _ : state) {
    auto d = limiter.check("r:" + std::to_string(i++ % 10'000), kRule);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_InProcessGcra(benchmark::State& state) {
  static rt::GcraLimiter limiter;
  run(state, limiter);
}
BENCHMARK(BM_InProcessGcra)->Threads(1)->Threads(16)->UseRealTime();

void BM_RedisGcra(benchmark::State& state) {
  static std::unique_ptr<rt::RedisLimiter> limiter = [] {
    auto r = rt::RedisLimiter::create(std::getenv("REPOTOKENS_BENCH_REDIS"));
    if (!r.ok()) throw std::runtime_error(r.error().message);
    return std::move(r).value();
  }();
  run(state, *limiter);
  if (!limiter->redis_reachable()) state.SkipWithError("Redis unreachable: the figure would be the local fallback");
}

[[maybe_unused]] const bool registered = [] {
  if (std::getenv("REPOTOKENS_BENCH_REDIS"))
    benchmark::RegisterBenchmark("BM_RedisGcra", BM_RedisGcra)->Threads(1)->Threads(16)->UseRealTime();
  return true;
}();

}  // namespace
