// Fuzz target: the streaming coverage-report parser (service/coverage_report), which reads every coverage
// upload, and the stored form it produces (store/coverage_data). Beyond "no crash": an accepted report's
// encoded form decodes, its totals agree with the decoded lines, and merging it with itself keeps the
// same lines; the decoder refuses arbitrary bytes without crashing.
#include <cstdint>
#include <cstdlib>

#include "fuzz_support.h"
#include "service/coverage_report.h"
#include "store/coverage_data.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = rt::fuzz::as_text(data, size);
  (void)rt::decode_coverage(text);
  (void)rt::check_coverage_filename(text);

  auto report = rt::parse_coverage_report(text);
  if (!report.ok()) return 0;
  auto files = rt::decode_coverage(report->data);
  if (!files.ok() || static_cast<std::int64_t>(files->size()) != report->files) std::abort();
  std::int64_t covered = 0, coverable = 0;
  for (const auto& f : *files) {
    coverable += static_cast<std::int64_t>(f.lines.size());
    for (auto [line, hits] : f.lines) covered += hits > 0 ? 1 : 0;
  }
  if (covered != report->covered || coverable != report->coverable) std::abort();
  auto merged = rt::merge_coverage(report->data, report->data);
  if (!merged.ok() || merged->files != report->files || merged->coverable != report->coverable) std::abort();
  return 0;
}
