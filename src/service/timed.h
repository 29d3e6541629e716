// Store calls timed into the repotokens_store_duration_seconds histogram, and store reads through a
// TtlCache: shared by the service's units.
#pragma once

#include <chrono>
#include <string>

#include "core/metrics.h"

namespace rt {

// The metric label `op="<op>"`, built once per thread and operation (ops are string literals).
const std::string& store_op_label(const char* op);

// Runs a store call and records its latency under `op`.
template <class F>
auto timed(const char* op, F&& f) {
  auto start = std::chrono::steady_clock::now();
  auto result = f();
  metrics::observe("repotokens_store_duration_seconds", store_op_label(op),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return result;
}

// A store read through a TtlCache: a hit skips the store; a successful read is remembered.
template <class Cache, class Key, class F>
auto cached(Cache& cache, const Key& key, F&& read, const char* op) -> decltype(read()) {
  if (auto hit = cache.get(key)) return std::move(*hit);
  auto loaded = Cache::SteadyClock::now();
  auto result = timed(op, read);
  if (result.ok()) cache.put(key, result.value(), loaded);
  return result;
}

}  // namespace rt
