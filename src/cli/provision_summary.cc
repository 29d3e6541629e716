// Formatting of the provision summary (counts, notes, failures).
#include "cli/provision_summary.h"

namespace rt::cli {

void print_summary(std::FILE* err, const ProvisionTally& t, const std::string& base, const std::string& journal,
                   bool quiet) {
  char line[640];
  std::snprintf(line, sizeof line,
                "%s: created %zu, rotated %zu (old tokens revoked: %zu), skipped %zu, failed %zu%s%s; %llu requests, "
                "%llu refused, %llu retries%s in %.1fs",
                t.complete ? "done" : "incomplete", t.created, t.rotated, t.revoked_old, t.skipped, t.failures.size(),
                t.adopted ? (", adopted " + std::to_string(t.adopted) + " whose reply was lost").c_str() : "",
                t.not_started ? (", not started " + std::to_string(t.not_started)).c_str() : "", t.requests,
                t.refused, t.retries, t.retry_causes.empty() ? "" : (" (" + t.retry_causes + ")").c_str(),
                t.elapsed_seconds);
  if (!(quiet && t.complete)) std::fprintf(err, "%s\n", line);
  if (t.not_held && !quiet)
    std::fprintf(err,
                 "%zu repositories already had a live '%s' token whose secret neither the journal nor the output "
                 "file holds (made elsewhere); use --mode rotate to replace them\n",
                 t.not_held, base.c_str());
  for (std::size_t k = 0; k < t.failures.size() && k < 20; ++k) std::fprintf(err, "failed: %s\n", t.failures[k].c_str());
  if (t.failures.size() > 20) std::fprintf(err, "... and %zu more failures\n", t.failures.size() - 20);
  if (!t.complete) std::fprintf(err, "re-run the same command to finish the job (journal: %s)\n", journal.c_str());
}

}  // namespace rt::cli
