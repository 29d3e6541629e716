// The single writer: every mutation of a SQLite store runs on one thread, on one connection. With group
// commit, the writer takes all the writes queued while the previous COMMIT was syncing, runs each in its
// own SAVEPOINT inside one BEGIN IMMEDIATE transaction and COMMITs once, so one fsync covers them all.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/result.h"
#include "store/sqlite/connection.h"

namespace rt::sqlite {

class Writer {
 public:
  // A write: runs on the writer's connection inside a transaction; an error rolls back only this write.
  using Body = std::function<Status(Connection&)>;

  Writer(std::unique_ptr<Connection> conn, bool group_commit);
  // Finishes every write already queued, then stops.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues `body` and blocks until the transaction holding it has committed (or failed). Returns the
  // body's own error, or the transaction's when the COMMIT failed; Ok means the write is durable.
  Status submit(Body body);

  // Convenience: a body producing a value.
  template <class T, class F>
  Result<T> run(F&& fn) {
    std::optional<Result<T>> out;
    Status st = submit([&](Connection& c) -> Status {
      out.emplace(fn(c));
      if (!out->ok()) return out->error();
      return ok_status();
    });
    if (!st.ok()) return st.error();
    return std::move(*out);
  }

 private:
  // A caller's write, on the caller's stack while it waits. (Not std::binary_semaphore: libstdc++ spins on
  // sched_yield before sleeping, which with 64 waiting callers eats the CPU the writer needs.)
  struct Job {
    Body body;
    Status outcome = ok_status();
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
  };

  void loop();
  void run_batch(std::vector<Job*>& batch);
  Status run_in_savepoint(Job& job);
  static void finish(std::vector<Job*>& batch);

  std::unique_ptr<Connection> conn_;
  const bool group_commit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rt::sqlite
