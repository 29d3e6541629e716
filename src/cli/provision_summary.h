// The end of a provision run for people: what was done per outcome, the request counts, what is left to
// do and where (one summary line, then the failures), written to the run's error stream.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace rt::cli {

struct ProvisionTally {
  std::size_t created = 0, rotated = 0, revoked_old = 0, skipped = 0, adopted = 0, not_started = 0;
  std::size_t not_held = 0;                  // skipped, and no secret of it in the journal or the output
  std::vector<std::string> failures;         // "gh/acme/api: reason"
  unsigned long long requests = 0, refused = 0, retries = 0;
  std::string retry_causes;                  // "4 unreachable, 12 throttled" (progress.h)
  double elapsed_seconds = 0;
  bool complete = false;
};

// "done: created 3, rotated 0 (old tokens revoked: 0), skipped 297, failed 0; 610 requests, 2 refused,
// 2 retries in 4.1s", then the notes and up to 20 failures. `quiet` leaves out the summary line of a
// complete run.
void print_summary(std::FILE* err, const ProvisionTally& tally, const std::string& base_name,
                   const std::string& journal_path, bool quiet);

}  // namespace rt::cli
