// LastUseRecorder: the batch is swapped out under the lock and written outside it, so requests never wait
// for the store here.
#include "service/last_use.h"

#include <algorithm>
#include <vector>

#include "service/timed.h"

namespace rt {

LastUseRecorder::LastUseRecorder(Store& store, const Clock& clock, std::chrono::milliseconds flush_interval)
    : store_(store), clock_(clock), writer_(flush_interval, flush_interval, [this] { flush(); }) {}

LastUseRecorder::~LastUseRecorder() {
  // writer_ is destroyed after this body: flush what is pending here, then the thread stops; anything
  // noted meanwhile would be lost, but the service is gone by then and notes nothing.
  flush();
}

void LastUseRecorder::note(TokenKind kind, Id token_id) {
  const UnixTime now = clock_.now();
  std::lock_guard lock(mu_);
  auto& t = pending_[{static_cast<int>(kind), token_id}];
  t = std::max(t, now);
}

void LastUseRecorder::flush() {
  std::map<std::pair<int, Id>, UnixTime> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return;
  std::vector<LastUse> uses;
  uses.reserve(batch.size());
  for (const auto& [key, at] : batch) uses.push_back({static_cast<TokenKind>(key.first), key.second, at});
  (void)timed("record_last_use", [&] { return store_.record_last_use(uses); });
}

}  // namespace rt
