// Drain and durability: while several clients create tokens as fast as they can, the server gets SIGTERM
// (it must exit 0 after draining) or SIGKILL; after a restart on the same database, every token that was
// answered with 201 authenticates.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "support/api_fixture.h"

namespace rt::test {
namespace {

struct Issued {
  std::string repo;
  std::string secret;
};

// Runs `threads` clients creating tokens on their own repositories until the server stops answering;
// calls `interrupt` once `trigger` tokens exist. Returns every token answered with 201.
std::vector<Issued> burst_then(ServerProcess& server, const World& w, int threads, int trigger,
                               const std::function<void()>& interrupt) {
  std::mutex mu;
  std::vector<Issued> issued;
  std::atomic<int> count{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      HttpClient http(server.base_url());
      for (int i = 0; i < 190 && !stop; ++i) {  // two repositories each: below the 100-token cap
        std::string repo = w.repos[static_cast<size_t>(2 * t + i % 2)];
        auto r = http.post(repo_path("gh", w.org, repo) + "/tokens", nlohmann::json::object(),
                           {api_token(w.admin.token)});
        if (r.status == 201) {
          std::lock_guard lock(mu);
          issued.push_back({repo, r.json()["data"]["token"].get<std::string>()});
          ++count;
        } else if (r.status == 0) {
          return;  // the server is gone
        } else {
          EXPECT_TRUE(r.status == 503 || r.status == 500 || r.status == 429) << r.status << " " << r.body;
          if (r.status == 500) ADD_FAILURE() << "500 during the burst: " << r.body;
        }
      }
    });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (count < trigger && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GE(count.load(), trigger) << "the burst was too slow to reach the trigger";
  interrupt();
  stop = true;
  for (auto& th : workers) th.join();
  return issued;
}

std::vector<std::string> repo_names(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("burst-" + std::to_string(i));
  return out;
}

void expect_all_authenticate(ServerProcess& server, const World& w, const std::vector<Issued>& issued) {
  HttpClient http(server.base_url());
  int missing = 0;
  for (const auto& t : issued) {
    auto r = http.get(repo_path("gh", w.org, t.repo), {project_token(t.secret)});
    if (r.status != 200) ++missing;
  }
  EXPECT_EQ(missing, 0) << missing << " of " << issued.size() << " tokens answered 201 were lost";
}

TEST(Drain, SigtermDuringTokenBurstExitsZeroAndLosesNothing) {
  ServerProcess server(ServerOptions{.extra_args = {"--rate-limit-per-token", "0", "--drain-timeout", "10"}});
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme", repo_names(8));
  int exit_code = -1;
  auto issued = burst_then(server, w, 4, 60, [&] { exit_code = server.stop(); });
  EXPECT_EQ(exit_code, 0) << server.log();
  ASSERT_GE(issued.size(), 60u);
  server.restart();
  expect_all_authenticate(server, w, issued);
}

TEST(Drain, KilledDuringTokenBurstLosesNothingAnswered) {
  ServerProcess server(ServerOptions{.extra_args = {"--rate-limit-per-token", "0"}});
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme", repo_names(8));
  auto issued = burst_then(server, w, 4, 60, [&] { server.kill9(); });
  ASSERT_GE(issued.size(), 60u);
  server.restart();
  expect_all_authenticate(server, w, issued);
  HttpClient again(server.base_url());
  EXPECT_EQ(again.get("/api/v3/user", {api_token(w.admin.token)}).status, 200);
}

}  // namespace
}  // namespace rt::test
