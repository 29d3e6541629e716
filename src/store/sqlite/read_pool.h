// The read connections of a SQLite store. In WAL mode a reader sees the last committed state and never
// waits for the writer, so reads run concurrently, one connection per reader at a time.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "core/result.h"
#include "store/sqlite/connection.h"

namespace rt::sqlite {

class ReadPool {
 public:
  static Result<std::unique_ptr<ReadPool>> open(const std::string& path, int size);

  // Runs fn(Connection&) on a free reader, waiting for one when all are busy.
  template <class F>
  auto with(F&& fn) {
    Lease lease(*this);
    return fn(*lease.conn);
  }

 private:
  struct Lease {
    explicit Lease(ReadPool& pool);
    ~Lease();
    ReadPool& pool;
    Connection* conn;
  };

  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::vector<Connection*> free_;
};

}  // namespace rt::sqlite
