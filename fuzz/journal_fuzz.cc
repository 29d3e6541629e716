// Fuzz target: the CLI's provisioning journal reader (cli/journal), which `repotokens provision` opens at
// the start of every run, possibly after a crash left it torn. The input is the file's content. Beyond
// "no crash": an accepted journal answers every query, and accepts a new record after the repair.
#include <cstdint>
#include <cstdlib>

#include "cli/journal.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = rt::fuzz::write_scratch("provision.journal", rt::fuzz::as_text(data, size));
  auto journal = rt::cli::Journal::open(path);
  if (!journal.ok()) return 0;
  auto& j = **journal;
  for (const rt::cli::RepoKey& repo : j.repos_needing_attention()) {
    (void)j.pending_intents(repo);
    (void)j.tokens(repo);
  }
  const rt::cli::RepoKey api{"gh", "acme", "api"};
  (void)j.tokens(api);
  if (auto job = j.unfinished_job("ensure", "ci-coverage")) (void)j.completed(job->id, api);
  if (!j.intent("fuzzjob", api, "ci-coverage-aaaaaaaaaaaa", {}, 1800000000).ok()) std::abort();
  if (j.pending_intents(api).empty()) std::abort();
  return 0;
}
