// Shared by the store benchmarks (store_bench, store_postgres_bench): a database seeded with
// repositories, and the loop that creates repository tokens across them from many threads, which is the
// durable-write figure of issues 2 and 5.
#pragma once

#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace bench {

constexpr rt::UnixTime kNow = 1'800'000'000;

template <class T>
T must(rt::Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.error().message);
  return std::move(r).value();
}

inline rt::AuditEvent audit(rt::Id org_id, const char* action) {
  return rt::AuditEvent{.org_id = org_id, .at = kNow, .actor = "user:bench", .action = action, .target = "bench"};
}

struct TokenWorld {
  std::filesystem::path dir;  // SQLite: the folder to remove afterwards
  std::unique_ptr<rt::Store> store;
  rt::Id org_id = 0;
  std::vector<rt::Id> repositories;
  std::atomic<std::uint64_t> next{0};  // makes names and hashes unique
  std::atomic<int> failures{0};
};

// Creates user and organization `name` and `count` repositories in `store` from `threads` writers, and
// records them in `w`.
inline void seed_repositories(rt::Store& store, TokenWorld& w, const std::string& name, int count, int threads) {
  rt::User u = must(store.create_user(rt::NewUser{.name = name}));
  w.org_id = must(store.create_organization(rt::NewOrganization{.name = name}, u.id, audit(0, "org"))).id;
  w.repositories.resize(count);
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t)
    writers.emplace_back([&, t] {
      for (int i = t; i < count; i += threads)
        w.repositories[i] = must(store.create_repository(
            rt::NewRepository{.org_id = w.org_id, .name = "repo-" + std::to_string(i)}, audit(w.org_id, "repo"))).id;
    });
  for (auto& th : writers) th.join();
}

// The body of a token-creation benchmark: each iteration creates one durable repository token, spread
// round-robin over the repositories so that none reaches the 100-live-token limit.
inline void create_tokens(benchmark::State& state, TokenWorld& w) {
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

}  // namespace bench
