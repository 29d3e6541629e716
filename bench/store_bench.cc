// Store micro-benchmarks on a real SQLite file (synchronous=FULL, so every acknowledged write is durable):
//  - create_repository_token from 64 threads, group commit versus one transaction per write;
//  - list_repositories page 1 versus a page past the 90,000th of 100,000 repositories (keyset cost).
// Run: build-*/bench/store_bench  (files go to $TMPDIR; each run starts from a fresh database).
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
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
constexpr int kTokenRepositories = 2000;  // enough that no repository reaches 100 live tokens
constexpr int kListRepositories = 100'000;

std::filesystem::path fresh_dir() {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() / ("repotokens-bench-" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir;
}

// --- token creation ---------------------------------------------------------------------------------------

TokenWorld* token_world = nullptr;

void setup_tokens(const benchmark::State& state) {
  auto* w = new TokenWorld;
  w->dir = fresh_dir();
  const std::string url = "sqlite:" + (w->dir / "bench.db").string();
  {
    // Populate with group commit and many threads (fast), then reopen in the mode under test.
    auto store = must(rt::open_store(url));
    seed_repositories(*store, *w, "bench", kTokenRepositories, kWriters);
  }
  w->store = must(rt::open_store(url, rt::StoreOptions{.group_commit = state.range(0) != 0}));
  token_world = w;
}

void teardown_tokens(const benchmark::State&) {
  token_world->store.reset();
  std::filesystem::remove_all(token_world->dir);
  delete token_world;
  token_world = nullptr;
}

void BM_CreateRepositoryToken(benchmark::State& state) { create_tokens(state, *token_world); }
// Arg 1: group commit; arg 0: one transaction (and one fsync) per write, the baseline, given fewer
// iterations per thread because each of its writes waits for its own fsync.
BENCHMARK(BM_CreateRepositoryToken)
    ->ArgName("group_commit")
    ->Arg(1)
    ->Threads(kWriters)
    ->Iterations(200)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Setup(setup_tokens)
    ->Teardown(teardown_tokens);
BENCHMARK(BM_CreateRepositoryToken)
    ->ArgName("group_commit")
    ->Arg(0)
    ->Threads(kWriters)
    ->Iterations(40)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Setup(setup_tokens)
    ->Teardown(teardown_tokens);

// --- keyset listing -------------------------------------------------------------------------------------

struct ListWorld {
  std::filesystem::path dir;
  std::unique_ptr<rt::Store> store;
  rt::Id org_id = 0;
};
ListWorld* list_world = nullptr;

// The listing world is shared by both runs; its files go when the program ends.
struct ListWorldCleanup {
  ~ListWorldCleanup() {
    if (!list_world) return;
    list_world->store.reset();
    std::filesystem::remove_all(list_world->dir);
    delete list_world;
  }
} list_world_cleanup;

std::string list_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "repo-%06d", i % 1'000'000);
  return buf;
}

// The store has no bulk-load call, so the fixture writes `count` repositories straight into the file in
// one transaction (bound parameters, the store's own schema and triggers), then opens the store on it.
void bulk_load(const std::filesystem::path& db, rt::Id org_id, int count) {
  sqlite3* raw = nullptr;
  sqlite3_open(db.c_str(), &raw);
  sqlite3_exec(raw, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(raw,
                     "INSERT INTO repositories(org_id, name, visibility, remote_identifier, languages, created_at,"
                     " updated_at) VALUES (?1, ?2, 'Private', ?2, '[]', 1, 1)",
                     -1, &insert, nullptr);
  for (int i = 0; i < count; ++i) {
    std::string name = list_name(i);
    sqlite3_bind_int64(insert, 1, org_id);
    sqlite3_bind_text(insert, 2, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(insert);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
}

// A fresh store holding one organization of `size` repositories.
ListWorld* make_list_world(int size) {
  auto* w = new ListWorld;
  w->dir = fresh_dir();
  const auto db = w->dir / "list.db";
  {
    auto store = must(rt::open_store("sqlite:" + db.string()));
    rt::User u = must(store->create_user(rt::NewUser{.name = "bench"}));
    w->org_id = must(store->create_organization(rt::NewOrganization{.name = "bench"}, u.id, audit(0, "org"))).id;
  }
  bulk_load(db, w->org_id, size);
  w->store = must(rt::open_store("sqlite:" + db.string()));
  return w;
}

void setup_list(const benchmark::State&) {
  if (!list_world) list_world = make_list_world(kListRepositories);  // built once, shared by both positions
}

void BM_ListRepositories(benchmark::State& state) {
  ListWorld& w = *list_world;
  rt::RepositoryQuery query{.org_id = w.org_id, .limit = 100};
  if (state.range(0) > 0) query.after_name = list_name(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto page = must(w.store->list_repositories(query));
    if (page.items.size() != 100 || page.total != kListRepositories) state.SkipWithError("unexpected page");
    benchmark::DoNotOptimize(page);
  }
}
// Arg 0: page 1; arg 90000: the page after the 90,000th repository.
BENCHMARK(BM_ListRepositories)->ArgName("after")->Arg(0)->Arg(90'000)->Unit(benchmark::kMicrosecond)->Setup(setup_list);

// Page 1 of organizations of 1,000 and 1,000,000 repositories (issue 13: listing whose cost does not grow
// with the organization; pagination.total comes from the stores' counters). One world per size.
std::map<int, ListWorld*> sized_worlds;
struct SizedWorldsCleanup {
  ~SizedWorldsCleanup() {
    for (auto& [size, w] : sized_worlds) {
      w->store.reset();
      std::filesystem::remove_all(w->dir);
      delete w;
    }
  }
} sized_worlds_cleanup;

void setup_sized(const benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  if (!sized_worlds.count(size)) sized_worlds[size] = make_list_world(size);
}

// Page 1 of the sized world, optionally with a text filter.
void list_page1(benchmark::State& state, const std::string& search) {
  ListWorld& w = *sized_worlds.at(static_cast<int>(state.range(0)));
  const rt::RepositoryQuery query{.org_id = w.org_id, .search = search, .limit = 100};
  for (auto _ : state) {
    auto page = must(w.store->list_repositories(query));
    if (page.items.size() != 100 || page.total != state.range(0)) state.SkipWithError("unexpected page");
    benchmark::DoNotOptimize(page);
  }
}

void BM_ListRepositoriesPage1(benchmark::State& state) { list_page1(state, ""); }
BENCHMARK(BM_ListRepositoriesPage1)
    ->ArgName("repositories")
    ->Arg(1'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMicrosecond)
    ->Setup(setup_sized);

// The baseline: the same page with a text filter that every name matches, whose total is still a count
// over the matching rows (what every listing paid before the counters).
void BM_ListRepositoriesPage1Counted(benchmark::State& state) { list_page1(state, "repo-"); }
BENCHMARK(BM_ListRepositoriesPage1Counted)
    ->ArgName("repositories")
    ->Arg(1'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMicrosecond)
    ->Setup(setup_sized);

}  // namespace
