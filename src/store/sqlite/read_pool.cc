// The pool of read connections: opened up front, handed out one reader at a time.
#include "store/sqlite/read_pool.h"

#include <algorithm>

namespace rt::sqlite {

Result<std::unique_ptr<ReadPool>> ReadPool::open(const std::string& path, int size) {
  auto pool = std::make_unique<ReadPool>();
  for (int i = 0; i < std::max(size, 1); ++i) {
    RT_TRY(auto conn, Connection::open(path, OpenFlags{.create_if_missing = false, .read_only = true}));
    pool->free_.push_back(conn.get());
    pool->all_.push_back(std::move(conn));
  }
  return pool;
}

ReadPool::Lease::Lease(ReadPool& p) : pool(p) {
  std::unique_lock lock(pool.mutex_);
  pool.freed_.wait(lock, [&] { return !pool.free_.empty(); });
  conn = pool.free_.back();
  pool.free_.pop_back();
}

ReadPool::Lease::~Lease() {
  {
    std::lock_guard lock(pool.mutex_);
    pool.free_.push_back(conn);
  }
  pool.freed_.notify_one();
}

}  // namespace rt::sqlite
