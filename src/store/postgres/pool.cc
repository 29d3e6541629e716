// The connection pool: lazy connects, replacement of dead links, and bounded waiting for a free slot.
#include "store/postgres/pool.h"

#include <chrono>

namespace rt::postgres {
namespace {
constexpr auto kAcquireTimeout = std::chrono::seconds(30);
}

Result<std::unique_ptr<Pool>> Pool::open(const std::string& url, int size) {
  if (size < 1) return make_error(ErrorKind::invalid, "the PostgreSQL pool needs at least one connection");
  std::unique_ptr<Pool> pool(new Pool(url, size));
  RT_TRY(auto first, Connection::open(url));
  pool->idle_.push_back(std::move(first));
  pool->open_ = 1;
  return pool;
}

Result<Pool::Lease> Pool::acquire() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, kAcquireTimeout, [&] { return !idle_.empty() || open_ < size_; }))
    return make_error(ErrorKind::unavailable,
                      "all " + std::to_string(size_) + " PostgreSQL connections stayed busy for 30 s");
  if (!idle_.empty()) {
    Lease lease{std::move(idle_.back()), true};
    idle_.pop_back();
    return lease;
  }
  ++open_;
  lock.unlock();
  auto conn = Connection::open(url_);  // outside the lock: connecting may take a while
  if (!conn.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.error();
  }
  return Lease{std::move(conn).value(), false};
}

void Pool::release(Lease lease) {
  std::unique_ptr<Connection> dead;
  {
    std::lock_guard lock(mu_);
    if (lease.conn->healthy()) {
      idle_.push_back(std::move(lease.conn));
    } else {
      dead = std::move(lease.conn);  // closed outside the lock
      --open_;
    }
  }
  cv_.notify_one();
}

bool Pool::retryable(const Connection& c, const std::string& sqlstate) {
  return c.healthy() && (sqlstate == kSerializationFailure || sqlstate == kDeadlockDetected);
}

}  // namespace rt::postgres
