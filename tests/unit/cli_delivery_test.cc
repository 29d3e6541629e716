// Secret delivery: formats, the atomic 0600 file, and --exec (secret on stdin only, context in env).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/delivery.h"
#include "support/server_process.h"

namespace rt::cli {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::vector<DeliveredSecret> kSecrets = {
    {"gh", "acme", "api", 1, "ci-coverage-aaaaaaaaaaaa", "rtkr_one", 1900000000},
    {"gh", "acme", "web.site", 2, "ci-coverage-bbbbbbbbbbbb", "rtkr_two", std::nullopt},
};

}  // namespace

TEST(Delivery, Formats) {
  EXPECT_EQ(render_secrets(kSecrets, OutputFormat::csv), "api,rtkr_one\nweb.site,rtkr_two\n");
  EXPECT_EQ(render_secrets(kSecrets, OutputFormat::env), "REPOTOKEN_API=rtkr_one\nREPOTOKEN_WEB_SITE=rtkr_two\n");
  auto j = nlohmann::json::parse(render_secrets(kSecrets, OutputFormat::json));
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["repository"], "api");
  EXPECT_EQ(j[0]["token"], "rtkr_one");
  EXPECT_EQ(j[0]["expiresAt"], "2030-03-17T17:46:40Z");
  EXPECT_FALSE(j[1].contains("expiresAt"));
  EXPECT_FALSE(parse_output_format("yaml").ok());
}

TEST(Delivery, FileIsReplacedAtomicallyWithMode0600) {
  test::TempDir dir;
  auto path = dir.path() / "tokens.csv";
  std::ofstream(path) << "old\n";
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(write_file_atomically(path.string(), "api,rtkr_one\n").ok());
  EXPECT_EQ(read_all(path), "api,rtkr_one\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);  // no temporary left behind
  auto bad = write_file_atomically((dir.path() / "no" / "such" / "dir" / "f").string(), "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--output"), std::string::npos);
}

TEST(Delivery, ExecGetsTheSecretOnStdinAndContextInTheEnvironment) {
  test::TempDir dir;
  auto out = dir.path() / "seen";
  std::string cmd = "{ cat; echo \"$REPOTOKENS_PROVIDER $REPOTOKENS_ORG $REPOTOKENS_REPO $#\"; env; } > '" +
                    out.string() + "'";
  ASSERT_TRUE(run_delivery_command(cmd, kSecrets[0], 10).ok());
  std::string seen = read_all(out);
  EXPECT_EQ(seen.rfind("rtkr_one\ngh acme api 0\n", 0), 0u) << seen;
  // The secret is on stdin only: not in the environment the command sees.
  EXPECT_EQ(seen.find("rtkr_one", 9), std::string::npos);
}

TEST(Delivery, ExecFailureIsReported) {
  auto r = run_delivery_command("cat >/dev/null; exit 3", kSecrets[0], 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("status 3"), std::string::npos);
  auto slow = run_delivery_command("sleep 5", kSecrets[0], 1);
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.error().message.find("longer than"), std::string::npos);
  EXPECT_TRUE(run_delivery_command("exit 0", kSecrets[0], 10).ok());  // does not read stdin: no SIGPIPE death
}

}  // namespace rt::cli

namespace rt::cli {

TEST(SecretsFile, AnEarlierOutputIsMergedByRepositoryNeverClobbered) {
  test::TempDir dir;
  auto path = dir.path() / "tokens.csv";
  std::ofstream(path) << "api,old-api-secret\nlegacy,kept-secret\n";
  auto file = SecretsFile::read(path.string(), OutputFormat::csv, false);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->size(), 2u);
  file->merge(kSecrets);  // api rotated, web.site new
  EXPECT_EQ(file->render(), "api,rtkr_one\nlegacy,kept-secret\nweb.site,rtkr_two\n");
  EXPECT_TRUE(file->has(kSecrets[1]));
}

TEST(SecretsFile, JsonAndEnvOutputsAreReadBack) {
  test::TempDir dir;
  for (auto format : {OutputFormat::json, OutputFormat::env}) {
    auto path = dir.path() / "out";
    std::ofstream(path) << render_secrets({kSecrets[0]}, format);
    auto file = SecretsFile::read(path.string(), format, false);
    ASSERT_TRUE(file.ok()) << file.error().message;
    file->merge({kSecrets[1]});
    EXPECT_EQ(file->render(), render_secrets(kSecrets, format));
  }
}

TEST(SecretsFile, AnUnrelatedFileIsRefusedUnlessForced) {
  test::TempDir dir;
  auto path = dir.path() / "notes.txt";
  std::ofstream(path) << "remember the milk\n";
  for (auto format : {OutputFormat::csv, OutputFormat::json, OutputFormat::env}) {
    auto file = SecretsFile::read(path.string(), format, false);
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.error().kind, ErrorKind::conflict);
    EXPECT_NE(file.error().message.find("--force"), std::string::npos) << file.error().message;
    auto forced = SecretsFile::read(path.string(), format, true);
    ASSERT_TRUE(forced.ok());
    EXPECT_EQ(forced->size(), 0u);
  }
  auto csv_as_json = SecretsFile::read(path.string(), OutputFormat::json, false);  // another format
  EXPECT_FALSE(csv_as_json.ok());
  EXPECT_TRUE(SecretsFile::read((dir.path() / "missing").string(), OutputFormat::csv, false).ok());
}

TEST(SecretsFile, TheOutputFolderIsCheckedBeforeAnythingIsCreated) {
  test::TempDir dir;
  EXPECT_TRUE(check_output_writable((dir.path() / "tokens.csv").string()).ok());
  auto missing = check_output_writable((dir.path() / "no" / "tokens.csv").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
  EXPECT_FALSE(check_output_writable(dir.path().string()).ok());  // a folder
  EXPECT_TRUE(check_output_writable("tokens.csv").ok());           // the current folder
}

}  // namespace rt::cli
