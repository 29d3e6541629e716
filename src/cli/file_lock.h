// An exclusive, advisory lock on a lock file beside the thing it protects (the journal, the output file),
// so that one provision run at a time works on a job. It is flock(2)-based: the kernel drops the lock when
// its holder dies (kill -9 included), so a lock left by a dead process is simply taken over; the lock file
// records who holds it (pid, host, start time) so that a refused run can say whom it waits for.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace rt::cli {

class FileLock {
 public:
  // Takes the lock on `lock_path` (created with mode 0600 when missing) without waiting. `what` names the
  // protected thing for messages ("the journal /x/y.journal"). When another live process holds it, the
  // error (kind `conflict`) names the holder and what to do. `taken_over` is set to a description of the
  // previous holder when the lock file named a process that is gone (a crash), "" otherwise.
  static Result<std::unique_ptr<FileLock>> acquire(const std::string& lock_path, const std::string& what,
                                                   std::string* taken_over = nullptr);
  // Releases the lock and removes the lock file (only while still holding it, so no other run's lock
  // file is ever removed).
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  FileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

}  // namespace rt::cli
