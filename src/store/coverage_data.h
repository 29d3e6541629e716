// The compact stored form of a coverage report: per file its name, covered and coverable line counts and
// its (line, hits) pairs, delta- and varint-encoded in one byte string (a few bytes per line, no row per
// line). Shared by every Store implementation and by the service's streaming parser that produces it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/result.h"

namespace rt {

using LineHits = std::pair<std::uint32_t, std::uint32_t>;  // (line >= 1, hits >= 0)

// An encoded report with its totals (computed once, when it was encoded).
struct EncodedCoverage {
  std::string data;
  std::int64_t files = 0;
  std::int64_t covered = 0;    // lines with hits > 0
  std::int64_t coverable = 0;  // lines present in the report
};

struct FileCoverageSummary {
  std::string name;
  std::int64_t covered = 0;
  std::int64_t coverable = 0;
};

struct FileCoverage {
  std::string name;
  std::vector<LineHits> lines;  // ascending, unique lines
};

// covered / coverable as a percentage with two decimals; 0 when nothing is coverable.
double coverage_percent(std::int64_t covered, std::int64_t coverable);

// Builds an EncodedCoverage one file at a time, so a parser never holds more than one file's lines.
class CoverageEncoder {
 public:
  CoverageEncoder();
  // `lines` may be unsorted and repeat a line (hits are then added); it is sorted in place.
  void add_file(std::string_view name, std::vector<LineHits>& lines);
  // Files named twice are merged (their hits added) here.
  EncodedCoverage finish() &&;

 private:
  EncodedCoverage out_;
  std::unordered_set<std::string> names_;
  bool repeated_names_ = false;
};

// The files of an encoded report, in stored order. `invalid` when the bytes are not an encoded report.
Result<std::vector<FileCoverage>> decode_coverage(std::string_view data);
Result<std::vector<FileCoverageSummary>> summarize_coverage(std::string_view data);
// The union of two reports of the same commit and language: hits of a line present in both are added.
Result<EncodedCoverage> merge_coverage(std::string_view a, std::string_view b);

}  // namespace rt
