// A small, sharded, time-bounded cache for the service's hot lookups (token by hash, organization by
// name, repository by name). An entry is trusted for at most `ttl` after it was read from the store, which
// bounds how long a change made through another node can go unseen; changes made through this node clear
// the cache at once.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace rt {

template <class Key, class Value, class Hash = std::hash<Key>>
class TtlCache {
 public:
  using SteadyClock = std::chrono::steady_clock;

  explicit TtlCache(std::chrono::milliseconds ttl, size_t max_entries_per_shard = 16384)
      : ttl_(ttl), max_entries_(max_entries_per_shard) {}

  std::optional<Value> get(const Key& key) {
    if (ttl_.count() <= 0) return std::nullopt;
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return std::nullopt;
    if (SteadyClock::now() - it->second.loaded > ttl_) {
      s.map.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  // `loaded` is when the value was read from the store: taken before the read, so that a clear() that
  // happens during the read is never overwritten by the stale value (see clear()).
  void put(const Key& key, Value value, SteadyClock::time_point loaded) {
    if (ttl_.count() <= 0) return;
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    if (loaded < s.cleared) return;
    if (s.map.size() >= max_entries_) s.map.clear();  // crude but bounded; a miss only costs a store read
    s.map.insert_or_assign(key, Entry{std::move(value), loaded});
  }

  void clear() {
    auto now = SteadyClock::now();
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      s.map.clear();
      s.cleared = now;
    }
  }

 private:
  struct Entry {
    Value value;
    SteadyClock::time_point loaded;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<Key, Entry, Hash> map;
    SteadyClock::time_point cleared{};
  };
  Shard& shard(const Key& key) { return shards_[Hash{}(key) % shards_.size()]; }

  std::chrono::milliseconds ttl_;
  size_t max_entries_;
  std::array<Shard, 16> shards_;
};

}  // namespace rt
