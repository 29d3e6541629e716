// A small, sharded, time-bounded cache for the service's hot lookups (token by hash, organization by
// name, repository by name). An entry is trusted for at most `ttl` after it was read from the store, which
// bounds how long a change made through another node can go unseen; changes made through this node clear
// the cache at once. Entries hit within the last TTL can be handed to a background refresh
// (hit_within_ttl / refresh), so that what is in steady use never expires, while the bound stays.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

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
    const auto now = SteadyClock::now();
    if (now - it->second.loaded > ttl_) {
      s.map.erase(it);
      return std::nullopt;
    }
    it->second.hit = now;
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
    s.map.insert_or_assign(key, Entry{std::move(value), loaded, std::nullopt});
  }

  // The entries hit (get) within the last TTL, not yet expired, whose value was read more than `older_than`
  // ago, with their values. A load is not a hit: an entry read once and never hit again is not listed,
  // and one no longer hit stops being listed a TTL after its last hit, then expires as any other.
  std::vector<std::pair<Key, Value>> hit_within_ttl(std::chrono::milliseconds older_than) {
    std::vector<std::pair<Key, Value>> out;
    if (ttl_.count() <= 0) return out;
    const auto now = SteadyClock::now();
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (auto& [key, entry] : s.map) {
        if (!entry.hit || now - *entry.hit > ttl_ || now - entry.loaded <= older_than || now - entry.loaded > ttl_)
          continue;
        out.emplace_back(key, entry.value);
      }
    }
    return out;
  }

  // A background re-read of an entry: `value` as read from the store at `loaded` (taken before the read),
  // or nullopt when the store no longer has it, which erases the entry. Nothing happens when the entry is
  // gone (expired, evicted, cleared) or holds a value read at `loaded` or later, or when a clear() came
  // after `loaded`. The entry's last hit is kept.
  void refresh(const Key& key, std::optional<Value> value, SteadyClock::time_point loaded) {
    if (ttl_.count() <= 0) return;
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    if (loaded < s.cleared) return;
    auto it = s.map.find(key);
    if (it == s.map.end() || it->second.loaded >= loaded) return;
    if (!value) {
      s.map.erase(it);
      return;
    }
    it->second.value = std::move(*value);
    it->second.loaded = loaded;
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
    std::optional<SteadyClock::time_point> hit;  // the last get that found it
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
