// lastUsedAt, batched: a request only notes in memory when a token was used; this unit's own thread writes
// the batch every flush interval. A crash loses at most one interval of "last used" times, never a token.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <utility>

#include "core/model.h"
#include "core/time.h"
#include "service/periodic.h"
#include "store/store.h"

namespace rt {

class LastUseRecorder {
 public:
  LastUseRecorder(Store& store, const Clock& clock, std::chrono::milliseconds flush_interval);
  ~LastUseRecorder();  // stops the thread, then writes what is still pending

  // Thread-safe and cheap (a map update under a mutex): called on every authenticated request.
  void note(TokenKind kind, Id token_id);
  // Writes the pending batch now; a store failure drops that batch (only "last used" times).
  void flush();

 private:
  Store& store_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::pair<int, Id>, UnixTime> pending_;
  PeriodicTask writer_;  // last member: its thread stops before the rest goes
};

}  // namespace rt
