// The repository cache's background refresh (service/access.cc): repositories in steady use keep hitting
// past the TTL, a change made through another store handle (another node) is still seen within the TTL,
// and entries no longer used are not re-read. Store calls are counted by the service's own
// repotokens_store_duration_seconds histogram.
#include <chrono>
#include <thread>

#include "core/metrics.h"
#include "service_fixture.h"

namespace rt::testing {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr int kTtlMs = 400;
constexpr auto kTtl = std::chrono::milliseconds(kTtlMs);

// How many store calls of `op` the service has timed so far (in this process).
long store_calls(const std::string& op) {
  const std::string text = metrics::render();
  const std::string needle = "repotokens_store_duration_seconds_count{op=\"" + op + "\"} ";
  auto at = text.find(needle);
  return at == std::string::npos ? 0 : std::stol(text.substr(at + needle.size()));
}

class RepositoryCacheTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceOptions options{{"per-token", 0, 1}, {"per-address", 0, 1}, 1000};
    options.cache_ttl_ms = kTtlMs;
    open(std::move(options));
    make_world();
    for (int i = 0; i < kRepos; ++i) ok(service_->add_repository(admin_, {"gh", "acme/r" + std::to_string(i), "Private", {}}));
  }

  RepoRef repo(int i) const { return {{"gh", "acme"}, "r" + std::to_string(i)}; }
  void pass() {
    for (int i = 0; i < kRepos; ++i) ok(service_->get_repository(admin_, repo(i)));
  }
  // Round robin over every repository for `how_long`, a pass every `pause`.
  void round_robin(SteadyClock::duration how_long, SteadyClock::duration pause = 10ms) {
    const auto end = SteadyClock::now() + how_long;
    while (SteadyClock::now() < end) {
      pass();
      std::this_thread::sleep_for(pause);
    }
  }

  static constexpr int kRepos = 50;
};

TEST_F(RepositoryCacheTest, RepositoriesInSteadyUseKeepHittingPastTheTtl) {
  pass();  // loads them all
  pass();  // hits: now in use
  const long singles = store_calls("get_repository"), batches = store_calls("get_repositories_by_id");
  round_robin(4 * kTtl);
  // Without the refresh every entry would be read again once per TTL: 4 * kRepos single reads.
  EXPECT_LE(store_calls("get_repository") - singles, kRepos / 5);
  // One batched read per half TTL or so (all 50 fit in one), not one per repository.
  const long batched = store_calls("get_repositories_by_id") - batches;
  EXPECT_GE(batched, 4);
  EXPECT_LE(batched, 12);
}

// Each repository used once every 0.7 TTL, as a round robin over 2,000 of them at 2,800 uses/s: a use
// then often falls in the last interval between runs of an entry's life, too late to be refreshed by
// "hit since the last run" alone.
TEST_F(RepositoryCacheTest, ARoundRobinSlowerThanHalfTheTtlKeepsHitting) {
  // Warm-up: a load is not a hit, so the second use may come too late for the first refresh once.
  round_robin(3 * kTtl, kTtl * 7 / 10);
  const long singles = store_calls("get_repository");
  round_robin(6 * kTtl, kTtl * 7 / 10);
  EXPECT_LE(store_calls("get_repository") - singles, kRepos / 5);
}

TEST_F(RepositoryCacheTest, AChangeThroughAnotherNodeIsSeenWithinTheTtlDespiteTheRefresh) {
  auto other = ok(open_store("sqlite:" + (dir_ / "service.db").string()), "open_store");  // another node
  pass();
  pass();
  round_robin(kTtl);  // refreshed at least once by now
  Repository gone = ok(other->get_repository(ok(service_->get_repository(admin_, repo(0))).repository.org_id, "r0"));
  Repository changed = ok(other->get_repository(gone.org_id, "r1"));
  const auto changed_at = SteadyClock::now();
  ASSERT_TRUE(other->delete_repository(gone.id, AuditEvent{.org_id = gone.org_id, .at = kStart, .actor = "test",
                                                           .action = "repository.delete", .target = "r0"}).ok());
  ASSERT_TRUE(other->delete_repository(changed.id, AuditEvent{.org_id = gone.org_id, .at = kStart, .actor = "test",
                                                              .action = "repository.delete", .target = "r1"}).ok());
  Repository remade = ok(other->create_repository(
      NewRepository{.org_id = gone.org_id, .name = "r1", .visibility = Visibility::Public, .created_at = kStart},
      AuditEvent{.org_id = gone.org_id, .at = kStart, .actor = "test", .action = "repository.create", .target = "r1"}));

  std::optional<SteadyClock::duration> deleted_seen, changed_seen;
  while (SteadyClock::now() - changed_at < 3 * kTtl && !(deleted_seen && changed_seen)) {
    for (int i = 2; i < kRepos; ++i) ok(service_->get_repository(admin_, repo(i)));  // the others stay in use
    auto r0 = service_->get_repository(admin_, repo(0));
    if (!deleted_seen && !r0.ok() && r0.error().kind == ErrorKind::not_found)
      deleted_seen = SteadyClock::now() - changed_at;
    auto r1 = service_->get_repository(admin_, repo(1));
    if (!changed_seen && r1.ok() && r1->repository.id == remade.id && r1->repository.visibility == Visibility::Public)
      changed_seen = SteadyClock::now() - changed_at;
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(deleted_seen) << "a repository deleted through another node was still served after 3 TTLs";
  ASSERT_TRUE(changed_seen) << "a repository re-created through another node was not seen after 3 TTLs";
  EXPECT_LE(*deleted_seen, kTtl + 150ms);
  EXPECT_LE(*changed_seen, kTtl + 150ms);
}

TEST_F(RepositoryCacheTest, EntriesNoLongerUsedAreNotRefreshed) {
  pass();  // loaded, never hit
  const long batches = store_calls("get_repositories_by_id");
  std::this_thread::sleep_for(3 * kTtl);
  EXPECT_EQ(store_calls("get_repositories_by_id") - batches, 0);

  // Hit once, then left alone: re-read for at most a TTL after that hit (a run every TTL/2), then they
  // expire as without a refresh.
  pass();
  pass();
  const long after_hits = store_calls("get_repositories_by_id");
  std::this_thread::sleep_for(3 * kTtl);
  EXPECT_LE(store_calls("get_repositories_by_id") - after_hits, 3);
  const long idle = store_calls("get_repositories_by_id");
  std::this_thread::sleep_for(2 * kTtl);
  EXPECT_EQ(store_calls("get_repositories_by_id") - idle, 0);
  const long singles = store_calls("get_repository");
  pass();
  EXPECT_EQ(store_calls("get_repository") - singles, kRepos);  // all expired: read one by one again
}

TEST_F(RepositoryCacheTest, NoRefreshWithCachingOff) {
  ServiceOptions options{{"per-token", 0, 1}, {"per-address", 0, 1}, 1000};
  options.cache_ttl_ms = 0;
  open(std::move(options));
  admin_ = login(admin_secret_);
  const long batches = store_calls("get_repositories_by_id"), singles = store_calls("get_repository");
  for (int round = 0; round < 3; ++round) {
    pass();
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(store_calls("get_repositories_by_id") - batches, 0);
  EXPECT_EQ(store_calls("get_repository") - singles, 3 * kRepos);
}

}  // namespace
}  // namespace rt::testing
