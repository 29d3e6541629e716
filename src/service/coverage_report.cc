// The streaming coverage-report parser: a SAX handler with an explicit position (root object, fileReports
// array, one file object, its coverage object) that skips unknown fields of any shape and stops at the
// first rule broken.
#include "service/coverage_report.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "service/validate.h"

namespace rt {
namespace {

using json = nlohmann::json;

class ReportSax {
 public:
  // --- the nlohmann::json_sax interface ---------------------------------------------------------
  bool null() { return scalar("null"); }
  bool boolean(bool) { return scalar("a boolean"); }
  bool number_integer(json::number_integer_t v) {
    if (where_ == Where::hits) {
      if (v < 0) return fail(fmt::format("{}: line {} has negative hits ({})", file_label(), line_, v));
      return add_hits(static_cast<std::uint64_t>(v));
    }
    return scalar("a number");
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (where_ == Where::hits) return add_hits(v);
    return scalar("a number");
  }
  bool number_float(json::number_float_t, const std::string&) {
    if (where_ == Where::hits)
      return fail(fmt::format("{}: hits of line {} must be a non-negative integer", file_label(), line_));
    return scalar("a number");
  }
  bool string(std::string& s) {
    if (where_ == Where::filename) {
      if (Status st = check_coverage_filename(s); !st.ok())
        return fail(fmt::format("fileReports[{}]: {}", file_index_, st.error().message));
      filename_ = std::move(s);
      has_filename_ = true;
      where_ = Where::file;
      return true;
    }
    return scalar("a string");
  }
  bool binary(json::binary_t&) { return scalar("binary"); }
  bool start_object(std::size_t) {
    switch (where_) {
      case Where::start: where_ = Where::root; return true;
      case Where::file_reports: return start_file();
      case Where::coverage: where_ = Where::lines; has_coverage_ = true; return true;
      case Where::skip: ++skip_depth_; return true;
      default: return unexpected("an object");
    }
  }
  bool end_object() {
    switch (where_) {
      case Where::root: where_ = Where::done; return true;
      case Where::file: return end_file();
      case Where::lines: return end_lines();
      case Where::skip: return end_skip();
      default: return fail("malformed report");
    }
  }
  bool start_array(std::size_t) {
    switch (where_) {
      case Where::file_reports_value: where_ = Where::file_reports; return true;
      case Where::skip: ++skip_depth_; return true;
      default: return unexpected("an array");
    }
  }
  bool end_array() {
    switch (where_) {
      case Where::file_reports: where_ = Where::root; has_file_reports_ = true; return true;
      case Where::skip: return end_skip();
      default: return fail("malformed report");
    }
  }
  // A key the report is read by may appear once (a JSON object with a key twice leaves the reading open).
  bool key(std::string& k) {
    if (where_ == Where::root) {
      if (k == "fileReports") {
        if (seen_file_reports_) return fail("field 'fileReports' is given twice; send it once");
        seen_file_reports_ = true;
        where_ = Where::file_reports_value;
      } else {
        skip_value(Where::root);  // "total" and unknown fields: ignored, whatever their shape
      }
      return true;
    }
    if (where_ == Where::file) {
      if ((k == "filename" && has_filename_) || (k == "coverage" && has_coverage_))
        return fail(fmt::format("{}: field '{}' is given twice; send it once", file_label(), k));
      if (k == "filename") where_ = Where::filename;
      else if (k == "coverage") where_ = Where::coverage;
      else skip_value(Where::file);
      return true;
    }
    if (where_ == Where::lines) return line_key(k);
    return true;  // inside a skipped value
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) {
    return fail(fmt::format("the body is not valid JSON (near byte {})", position));
  }

  // --- results ---------------------------------------------------------------------------------
  Result<EncodedCoverage> finish(bool parsed) && {
    if (error_) return make_error(ErrorKind::invalid, *error_);
    if (!parsed || where_ != Where::done) return make_error(ErrorKind::invalid, "malformed report");
    if (!has_file_reports_) return make_error(ErrorKind::invalid, "field 'fileReports' is required (an array)");
    return std::move(encoder_).finish();
  }

 private:
  enum class Where { start, root, file_reports_value, file_reports, file, filename, coverage, lines, hits, skip,
                     done };

  // A scalar: fine where a value is skipped, wrong anywhere else.
  bool scalar(const char* what) {
    if (where_ == Where::skip && skip_depth_ == 0) {
      where_ = skip_return_;
      return true;
    }
    if (where_ == Where::skip) return true;
    return unexpected(what);
  }
  bool unexpected(const char* what) {
    switch (where_) {
      case Where::start: return fail("the report must be a JSON object");
      case Where::file_reports_value: return fail(fmt::format("field 'fileReports' must be an array, not {}", what));
      case Where::file_reports: return fail(fmt::format("fileReports[{}] must be an object, not {}", file_index_, what));
      case Where::filename: return fail(fmt::format("fileReports[{}]: 'filename' must be a string", file_index_));
      case Where::coverage:
        return fail(fmt::format("{}: 'coverage' must be an object of line: hits", file_label()));
      case Where::hits:
        return fail(fmt::format("{}: hits of line {} must be a non-negative integer, not {}", file_label(), line_, what));
      default: return fail("malformed report");
    }
  }
  void skip_value(Where back) {
    where_ = Where::skip;
    skip_depth_ = 0;
    skip_return_ = back;
  }
  bool end_skip() {
    if (--skip_depth_ == 0) where_ = skip_return_;
    return true;
  }
  bool start_file() {
    where_ = Where::file;
    has_filename_ = has_coverage_ = false;
    filename_.clear();
    lines_.clear();  // keeps its capacity: one buffer serves every file
    return true;
  }
  bool end_lines() {
    std::sort(lines_.begin(), lines_.end(), [](const LineHits& a, const LineHits& b) { return a.first < b.first; });
    auto twice = std::adjacent_find(lines_.begin(), lines_.end(),
                                    [](const LineHits& a, const LineHits& b) { return a.first == b.first; });
    if (twice != lines_.end())
      return fail(fmt::format("{}: line {} is given twice in 'coverage'; send each line once", file_label(), twice->first));
    where_ = Where::file;
    return true;
  }
  bool end_file() {
    if (!has_filename_) return fail(fmt::format("fileReports[{}]: field 'filename' is required", file_index_));
    if (!has_coverage_) return fail(fmt::format("{}: field 'coverage' is required", file_label()));
    encoder_.add_file(filename_, lines_);
    ++file_index_;
    where_ = Where::file_reports;
    return true;
  }
  bool line_key(const std::string& k) {
    std::uint64_t line = 0;
    auto [end, ec] = std::from_chars(k.data(), k.data() + k.size(), line);
    if (k.empty() || ec != std::errc() || end != k.data() + k.size() || line == 0 || line > UINT32_MAX)
      return fail(fmt::format("{}: line numbers must be positive integers, not \"{}\"", file_label(),
                              echo_ascii(k, 40)));
    line_ = static_cast<std::uint32_t>(line);
    where_ = Where::hits;
    return true;
  }
  bool add_hits(std::uint64_t hits) {
    lines_.emplace_back(line_, static_cast<std::uint32_t>(std::min<std::uint64_t>(hits, UINT32_MAX)));
    where_ = Where::lines;
    return true;
  }
  std::string file_label() const {
    if (has_filename_) return fmt::format("fileReports[{}] ({})", file_index_, utf8_prefix(filename_, 200));
    return fmt::format("fileReports[{}]", file_index_);
  }
  bool fail(std::string message) {
    if (!error_) error_ = std::move(message);
    return false;
  }

  Where where_ = Where::start;
  Where skip_return_ = Where::root;
  int skip_depth_ = 0;
  std::size_t file_index_ = 0;
  std::string filename_;
  bool has_filename_ = false;
  bool has_coverage_ = false;
  bool has_file_reports_ = false;
  bool seen_file_reports_ = false;
  std::uint32_t line_ = 0;
  std::vector<LineHits> lines_;
  CoverageEncoder encoder_;
  std::optional<std::string> error_;
};

}  // namespace

Status check_coverage_filename(std::string_view name) {
  if (name.empty()) return make_error(ErrorKind::invalid, "'filename' must not be empty");
  if (name.size() > 4096) return make_error(ErrorKind::invalid, "'filename' is longer than 4096 bytes");
  if (name.find('\0') != std::string_view::npos) return make_error(ErrorKind::invalid, "'filename' contains NUL");
  const bool drive = name.size() >= 2 && name[1] == ':' &&
                     ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'));
  if (name.front() == '/' || name.front() == '\\' || drive)
    return make_error(ErrorKind::invalid, fmt::format("'filename' must be a relative path, not \"{}\"",
                                                      name.substr(0, 200)));
  for (size_t start = 0; start <= name.size();) {
    size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..")
      return make_error(ErrorKind::invalid, fmt::format("'filename' must not contain a \"..\" segment: \"{}\"",
                                                        name.substr(0, 200)));
    start = end + 1;
  }
  return ok_status();
}

Result<EncodedCoverage> parse_coverage_report(std::string_view body) {
  ReportSax sax;
  bool parsed = json::sax_parse(body.begin(), body.end(), &sax);
  return std::move(sax).finish(parsed);
}

}  // namespace rt
