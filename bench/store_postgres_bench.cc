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

namespace {

constexpr int kWriters = 64;
constexpr int kRepositories = 2000;  // enough that no repository reaches 100 live tokens
constexpr rt::UnixTime kNow = 1'800'000'000;

template <class T>
T must(rt::Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.error().message);
  return std::move(r).value();
}

rt::AuditEvent audit(rt::Id org_id, const char* action) {
  return rt::AuditEvent{.org_id = org_id, .at = kNow, .actor = "user:bench", .action = action, .target = "bench"};
}

struct World {
  std::filesystem::path dir;  // SQLite only
  std::unique_ptr<rt::Store> store;
  rt::Id org_id = 0;
  std::vector<rt::Id> repositories;
  std::atomic<std::uint64_t> next{0};
  std::atomic<int> failures{0};
};
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
  rt::User u = must(w->store->create_user(rt::NewUser{.name = "bench-" + std::to_string(run)}));
  w->org_id = must(w->store->create_organization(rt::NewOrganization{.name = "bench-" + std::to_string(run)}, u.id,
                                                 audit(0, "org"))).id;
  w->repositories.resize(kRepositories);
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t)
    threads.emplace_back([&, t] {
      for (int i = t; i < kRepositories; i += 16)
        w->repositories[i] = must(w->store->create_repository(
            rt::NewRepository{.org_id = w->org_id, .name = "repo-" + std::to_string(i)}, audit(w->org_id, "repo"))).id;
    });
  for (auto& th : threads) th.join();
  w->next = static_cast<std::uint64_t>(run) << 20;  // hashes unique across runs on one database
  world = w;
}

void teardown(const benchmark::State&) {
  world->store.reset();
  if (!world->dir.empty()) std::filesystem::remove_all(world->dir);
  delete world;
  world = nullptr;
}

void BM_CreateRepositoryToken(benchmark::State& state) {
  World& w = *world;
  std::size_t k = static_cast<std::size_t>(state.thread_index()) * 37;
  for (auto _ : state) {
    std::uint64_t n = w.next.fetch_add(1);
    rt::NewRepositoryToken token{.repository_id = w.repositories[k++ % w.repositories.size()],
                                 .name = "t" + std::to_string(n), .hash = {}, .created_at = kNow,
                                 .expires_at = kNow + 86400};
    for (std::size_t i = 0; i < token.hash.size(); ++i)
      token.hash[i] = static_cast<std::uint8_t>((n >> (8 * (i % 8))) ^ i);
    auto r = w.store->create_repository_token(token, kNow, rt::kMaxLiveTokensPerRepository,
                                              audit(w.org_id, "repository.token.create"));
    if (!r.ok()) ++w.failures;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) state.counters["failures"] = w.failures.load();
}

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
