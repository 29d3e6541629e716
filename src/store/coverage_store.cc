// The stored names of a coverage upload's status (coverage_store.h): "partial", "final", "failed" in both
// stores' `status` columns.
#include "store/coverage_store.h"

namespace rt {

std::string_view coverage_status_name(CoverageStatus s) {
  switch (s) {
    case CoverageStatus::partial: return "partial";
    case CoverageStatus::final: return "final";
    case CoverageStatus::failed: return "failed";
  }
  return "failed";
}

CoverageStatus parse_coverage_status(std::string_view name) {
  if (name == "final") return CoverageStatus::final;
  if (name == "partial") return CoverageStatus::partial;
  return CoverageStatus::failed;
}

}  // namespace rt
