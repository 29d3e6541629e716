// Reading a coverage report body ({"total"?, "fileReports": [{"filename", "total"?, "coverage": {"<line>":
// hits}}]}) straight into the compact stored form, with nlohmann's SAX interface: no DOM, and at most one
// file's lines held uncompressed at a time. Every rule of API.md is checked; the first violation is an
// `invalid` error saying where and what.
#pragma once

#include <string_view>

#include "core/result.h"
#include "store/coverage_data.h"

namespace rt {

// Relative path, not empty, no NUL, no leading '/' or '\' or drive letter, no ".." segment, <= 4096 bytes.
Status check_coverage_filename(std::string_view name);

Result<EncodedCoverage> parse_coverage_report(std::string_view body);

}  // namespace rt
