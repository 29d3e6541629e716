// Codacy's own generated v3 client (npm @codacy/codacy-mcp, tests/conformance/codacy-client/drive.mjs)
// drives every served Codacy operation against a real repotokensd on a loopback port, and checks that
// unserved ones answer 501. Skipped, visibly, when node or the installed client is missing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "support/server_process.h"
#include "support/test_backend.h"

namespace rt::test {
namespace {

const std::filesystem::path kClientDir = std::filesystem::path(REPOTOKENS_SOURCE_DIR) / "tests/conformance/codacy-client";

TEST(CodacyClient, GeneratedClientDrivesEveryServedOperation) {
  if (!std::filesystem::exists("/usr/bin/node")) GTEST_SKIP() << "node is not installed (/usr/bin/node)";
  if (!std::filesystem::exists(kClientDir / "node_modules/@codacy/codacy-mcp"))
    GTEST_SKIP() << "@codacy/codacy-mcp is not installed: run scripts/install-deps (npm ci in " << kClientDir << ")";
  ServerProcess server;
  std::string admin = server.create_user_offline("ada", /*instance_admin=*/true);

  // Which operations are served comes from the same route table the server runs.
  CommandResult routes = run_command({REPOTOKENSD_BIN, "routes"});
  ASSERT_EQ(routes.exit_code, 0) << routes.err;
  std::filesystem::path routes_file = server.dir() / "routes.tsv";
  std::ofstream(routes_file) << routes.out;

  std::vector<std::string> env = {"REPOTOKENS_BASE=" + server.base_url(), "REPOTOKENS_ADMIN_TOKEN=" + admin,
                                  "REPOTOKENS_ROUTES=" + routes_file.string()};
#ifdef REPOTOKENS_CAPTURE_DIR_DEFAULT
  if (std::filesystem::is_directory(REPOTOKENS_CAPTURE_DIR_DEFAULT))
    env.push_back(std::string("REPOTOKENS_CAPTURE_DIR=") + REPOTOKENS_CAPTURE_DIR_DEFAULT);
#endif
  CommandResult drive = run_command({"/usr/bin/node", (kClientDir / "drive.mjs").string()}, {}, env, 300);
  if (drive.exit_code == kSkippedExitStatus) GTEST_SKIP() << drive.out;
  EXPECT_EQ(drive.exit_code, 0) << drive.out << drive.err << "\nserver log:\n" << server.log();
  std::cout << drive.out;
}

}  // namespace
}  // namespace rt::test
