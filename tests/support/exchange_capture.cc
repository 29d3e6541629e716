// Test harness: the exchange log behind record_exchange(), one JSON line per exchange in a file per test
// process, so parallel ctest processes never share a file.
#include "support/exchange_capture.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <nlohmann/json.hpp>

namespace rt::test {
namespace {

std::string capture_dir() {
  if (const char* env = std::getenv("REPOTOKENS_CAPTURE_DIR"); env && *env) return env;
#ifdef REPOTOKENS_CAPTURE_DIR_DEFAULT
  return REPOTOKENS_CAPTURE_DIR_DEFAULT;
#else
  return {};
#endif
}

std::string current_test() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (!info) return "(outside a test)";
  return std::string(info->test_suite_name()) + "." + info->name();
}

// "http://127.0.0.1:8080/api/v3/x?y" -> "/api/v3/x?y".
std::string target_of(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

}  // namespace

void record_exchange(const std::string& method, const std::string& url, long status,
                     const std::string& content_type, const std::string& body) {
  static std::mutex mutex;
  static std::FILE* file = nullptr;
  static bool opened = false;
  std::lock_guard lock(mutex);
  if (!opened) {
    opened = true;
    std::string dir = capture_dir();
    std::error_code ec;
    if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return;
    std::string path = dir + "/" + std::to_string(::getpid()) + ".jsonl";
    file = std::fopen(path.c_str(), "a");
    if (!file) std::fprintf(stderr, "exchange capture: cannot open %s: conformance will not see this test\n", path.c_str());
  }
  if (!file || status == 0) return;  // status 0: a transport failure, nothing was answered
  nlohmann::json line = {{"test", current_test()}, {"method", method},   {"target", target_of(url)},
                         {"status", status},       {"contentType", content_type}, {"body", body}};
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(text.data(), 1, text.size(), file);
  std::fflush(file);  // a test process may end with _exit or a crash: keep what was answered
}

}  // namespace rt::test
