// Durable repository-token creation from 64 threads on PostgreSQL (fsync=on, synchronous_commit=on),
// beside the SQLite figure (group commit) from the same invocation, as issue 5 asks.
// Run: bench/scaleout.sh (starts a throwaway PostgreSQL and sets REPOTOKENS_BENCH_POSTGRES), or set
// REPOTOKENS_BENCH_POSTGRES=postgresql://... yourself. Without it only the SQLite baseline runs.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "token_world.h"

namespace {

using namespace bench;

constexpr int kWriters = 64;
constexpr int kRepositories = 2000;  // enough that no repository reaches 100 live tokens
using World = TokenWorld;
World* world = nullptr;

// Arg 0: 0 = SQLite (group commit), otherwise PostgreSQL with a pool of that many connections.
void setup(const benchmark::State& state) {
  auto* w = new World;
  std::random_device rd;
  const unsigned run = rd();
  std::string url;
  rt::StoreOptions options;
  if (state.range(0) == 0) {
    w->dir = std::filesystem::temp_directory_path() / ("repotokens-pgbench-" + std::to_string(run));
    std::filesystem::create_directories(w->dir);
    url = "sqlite:" + (w->dir / "bench.db").string();
  } else {
    url = std::getenv("REPOTOKENS_BENCH_POSTGRES");
    options.read_connections = static_cast<int>(state.range(0));
  }
  w->store = must(rt::open_store(url, options));
  seed_repositories(*w->store, *w, "bench-" + std::to_string(run), kRepositories, 16);
  w->next = static_cast<std::uint64_t>(run) << 20;  // hashes unique across runs on one database
  world = w;
}

void teardown(const benchmark::State&) {
  world->store.reset();
  if (!world->dir.empty()) std::filesystem::remove_all(world->dir);
  delete world;
  world = nullptr;
}

void BM_CreateRepositoryToken(benchmark::State& state) { create_tokens(state, *world); }

void arguments(benchmark::internal::Benchmark* b) {
  b->ArgName("pg_pool");
  b->Arg(0);  // the SQLite baseline
  if (std::getenv("REPOTOKENS_BENCH_POSTGRES")) {
    b->Arg(16);
    b->Arg(64);
  }
}

BENCHMARK(BM_CreateRepositoryToken)
    ->Apply(arguments)
    ->Threads(kWriters)
    ->Iterations(100)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Setup(setup)
    ->Teardown(teardown);

}  // namespace
