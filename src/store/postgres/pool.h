// A fixed-size pool of PostgreSQL connections shared by all store calls. Connections are opened lazily and
// replaced when their link dies, so a node rides out a database restart without restarting itself:
// while the server is down calls fail fast with `unavailable`, and the first call after it returns
// reconnects. Transactions retry on serialization failures and deadlocks.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/connection.h"

namespace rt::postgres {

enum class TxMode {
  read_write,      // READ COMMITTED; callers lock rows (FOR NO KEY UPDATE) where a rule spans rows
  read_snapshot,   // REPEATABLE READ READ ONLY: a page and its total from one snapshot
};

class Pool {
 public:
  // Checks that the database is reachable by opening the first connection.
  static Result<std::unique_ptr<Pool>> open(const std::string& url, int size);

  // fn(Connection&) -> Result<T>, outside any explicit transaction (one statement is atomic by itself).
  // Retried once on a fresh connection when a pooled one turns out to have lost its link: only use for
  // statements that are safe to repeat (reads, idempotent writes).
  template <class T, class F>
  Result<T> run(F&& fn);

  // fn(Connection&) -> Result<T> between BEGIN and COMMIT; rolled back when fn fails. Retried (from
  // BEGIN) on 40001/40P01 and when the link was already dead at BEGIN, when nothing can have happened.
  template <class T, class F>
  Result<T> transaction(F&& fn, TxMode mode = TxMode::read_write);

  int size() const { return size_; }

 private:
  struct Lease {
    std::unique_ptr<Connection> conn;
    bool reused = false;  // came from the idle list (its link may have died since)
  };
  Pool(std::string url, int size) : url_(std::move(url)), size_(size) {}
  Result<Lease> acquire();
  void release(Lease lease);
  static bool retryable(const Connection& c, const std::string& sqlstate);

  std::string url_;
  int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  // connections alive, idle or leased
};

template <class T, class F>
Result<T> Pool::run(F&& fn) {
  for (int attempt = 0;; ++attempt) {
    RT_TRY(Lease lease, acquire());
    Result<T> r = fn(*lease.conn);
    bool stale = !r.ok() && lease.reused && !lease.conn->healthy();
    release(std::move(lease));
    if (!stale || attempt > 0) return r;
  }
}

template <class T, class F>
Result<T> Pool::transaction(F&& fn, TxMode mode) {
  const char* begin = mode == TxMode::read_snapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
  constexpr int kAttempts = 8;
  for (int attempt = 1;; ++attempt) {
    RT_TRY(Lease lease, acquire());
    Connection& c = *lease.conn;
    if (Status st = c.exec_script(begin); !st.ok()) {
      bool stale = lease.reused && !c.healthy();
      release(std::move(lease));
      if (stale && attempt == 1) continue;
      return st.error();
    }
    Result<T> r = fn(c);
    std::string failed_state = r.ok() ? std::string() : c.last_sqlstate();  // before ROLLBACK clears it
    Status end = r.ok() ? c.exec_script("COMMIT") : c.exec_script("ROLLBACK");
    if (r.ok() && !end.ok()) failed_state = c.last_sqlstate();
    bool again = retryable(c, failed_state) && attempt < kAttempts;
    release(std::move(lease));
    if (again) continue;
    if (r.ok() && !end.ok()) return end.error();
    return r;
  }
}

}  // namespace rt::postgres
