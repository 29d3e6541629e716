// FileLock: flock(2) on a lock file, the holder's identity written into it, and the inode check that makes
// removing the lock file on release safe against a run that opened it in the meantime.
#include "cli/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/time.h"

namespace rt::cli {
namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

std::string read_fd(int fd) {
  std::string text;
  char buf[1024];
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    off += n;
    if (text.size() > 4096) break;
  }
  return text;
}

// "pid 123 on host build-7, started 2027-01-31T12:00:00Z", from the lock file's record.
std::string describe_holder(const std::string& record) {
  auto j = nlohmann::json::parse(record, nullptr, false);
  if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) return "";
  std::string text = "pid " + std::to_string(j["pid"].get<std::int64_t>()) + " on host " + j.value("host", std::string("?"));
  if (j.contains("started") && j["started"].is_number_integer())
    text += ", started " + format_rfc3339(j["started"].get<UnixTime>());
  return text;
}

}  // namespace

Result<std::unique_ptr<FileLock>> FileLock::acquire(const std::string& lock_path, const std::string& what,
                                                    std::string* taken_over) {
  if (taken_over) taken_over->clear();
  for (int attempt = 0; attempt < 20; ++attempt) {
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      return make_error(ErrorKind::invalid, "cannot create the lock file " + lock_path + " for " + what + ": " +
                                                std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string holder = describe_holder(read_fd(fd));
      ::close(fd);
      if (err == EWOULDBLOCK) {
        std::string pid = holder.empty() ? std::string() : holder.substr(4, holder.find(' ', 4) - 4);
        return make_error(ErrorKind::conflict,
                          what + " is in use by another repotokens run (" +
                              (holder.empty() ? "holder unknown, lock file " + lock_path : holder) +
                              "); wait for it to finish and re-run, or stop it" +
                              (pid.empty() ? std::string() : " (kill " + pid + ")") +
                              " if it is stuck: the journal lets a re-run finish its work");
      }
      return make_error(ErrorKind::internal, "cannot lock " + lock_path + ": " + std::strerror(err));
    }
    // A holder that released the lock removes its file: if the path no longer names the inode just locked,
    // this lock protects nothing; start again with the current file.
    struct stat held {}, named {};
    if (::fstat(fd, &held) != 0 || ::stat(lock_path.c_str(), &named) != 0 || held.st_ino != named.st_ino ||
        held.st_dev != named.st_dev) {
      ::close(fd);
      continue;
    }
    // Only a holder that died leaves its record behind (a clean release removes the file).
    if (std::string previous = describe_holder(read_fd(fd)); !previous.empty() && taken_over)
      *taken_over = previous + ", no longer running";
    std::string record = nlohmann::json{{"pid", static_cast<long>(::getpid())}, {"host", host_name()},
                                        {"started", SystemClock().now()}}.dump() + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, record.data(), record.size(), 0) != static_cast<ssize_t>(record.size())) {
      Error e = make_error(ErrorKind::internal, "cannot write the lock file " + lock_path + ": " + std::strerror(errno));
      ::close(fd);
      return e;
    }
    return std::unique_ptr<FileLock>(new FileLock(lock_path, fd));
  }
  return make_error(ErrorKind::internal, "cannot lock " + lock_path + ": it keeps being replaced");
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // still holding the lock: nobody else can be using this file
  ::close(fd_);
}

}  // namespace rt::cli
