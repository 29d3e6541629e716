// Shared by the libFuzzer targets in fuzz/: a scratch file for the parsers that read files (the journal,
// the TOML configurations). Nothing here is linked into repotokensd or repotokens. Parsers' own messages
// on stderr are silenced by running with -close_fd_mask=3 (scripts/fuzz), which keeps libFuzzer's and the
// sanitizers' reports.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace rt::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A private folder for this fuzzing process, removed when it exits (libFuzzer saves a crashing input as
// its own artifact, so nothing in here is needed afterwards).
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/rtfuzz-XXXXXX";
    if (!::mkdtemp(templ.data())) std::abort();
    return templ;
  }();
  static const bool cleanup = [] {
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return true;
  }();
  (void)cleanup;
  return dir;
}

// Replaces the scratch file `name` with exactly `bytes` and returns its path.
inline std::string write_scratch(const std::string& name, std::string_view bytes) {
  std::string path = scratch_dir() + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  for (std::size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return path;
}

}  // namespace rt::fuzz
