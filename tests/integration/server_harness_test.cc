// The harness itself: run_command captures both streams without deadlock, feeds stdin, and kills on
// timeout; ServerProcess starts, answers health, restarts on the same database and stops cleanly.
#include <gtest/gtest.h>

#include <chrono>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/test_backend.h"

namespace rt::test {
namespace {

TEST(Harness, RunCommandCapturesLargeOutputOnBothStreamsAndStdin) {
  // 1 MiB through stdin and back out on stdout and stderr: more than any pipe buffer, so a reader that
  // drained one stream at a time would deadlock.
  std::string input(1 << 20, 'x');
  auto r = run_command({"/bin/sh", "-c", "tee /dev/stderr"}, input, {}, 30);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), input.size());
  EXPECT_EQ(r.err.size(), input.size());
}

TEST(Harness, RunCommandReportsExitCodeAndEnvironment) {
  auto r = run_command({"/bin/sh", "-c", "echo \"$RT_HARNESS_PROBE\"; exit 3"}, {}, {"RT_HARNESS_PROBE=seen"}, 30);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "seen\n");
}

TEST(Harness, RunCommandKillsOnTimeout) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_command({"/bin/sleep", "30"}, {}, {}, 1);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(Harness, ServerStartsRestartsAndStopsCleanly) {
  ServerProcess server;
  ASSERT_GT(server.port(), 0);
  HttpClient http(server.base_url());
  EXPECT_EQ(http.get("/api/v3/health").status, 200);
  pid_t first = server.pid();
  server.restart();
  EXPECT_NE(server.pid(), first);
  HttpClient again(server.base_url());
  EXPECT_EQ(again.get("/api/v3/health").status, 200);
  EXPECT_EQ(server.stop(), 0) << server.log();
  EXPECT_EQ(server.pid(), -1);
  EXPECT_TRUE(table_counts(server.db_url()).contains("users")) << "the database was not kept";
}

}  // namespace
}  // namespace rt::test
