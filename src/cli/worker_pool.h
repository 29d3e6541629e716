// Runs per-item API work on N threads, each with its own ApiClient (its own kept-alive connection), all
// sharing one Pacer and one ClientStats (and, in unit tests, a transport of canned answers). Items are
// handed out in order; after an interrupt no new item starts.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "cli/progress.h"
#include "client/api_client.h"

namespace rt::cli {

inline void run_parallel(int concurrency, std::size_t count, const client::ConnectionSettings& settings,
                         client::Pacer& pacer, client::ClientStats& stats,
                         const std::function<void(client::ApiClient&, std::size_t)>& work,
                         const client::TransportFactory& transport = {}) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    client::ApiClient api = transport ? client::ApiClient(settings, pacer, stats, transport(settings))
                                      : client::ApiClient(settings, pacer, stats);
    for (std::size_t i; !interrupted() && (i = next.fetch_add(1)) < count;) work(api, i);
  };
  int threads = static_cast<int>(std::min<std::size_t>(std::max(1, concurrency), std::max<std::size_t>(count, 1)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

}  // namespace rt::cli
