// Handlers for coverage: the legacy /2.0 upload and final-notification calls (legacy `{"error": text}`
// bodies, `{"success": text}` answers, as the coverage reporters expect); Codacy's read-back
// (listCoverageReports, getCommit, getRepositoryWithAnalysis) and our extensions, the upload log and the
// commit coverage summary (docs/coverage.md).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/time.h"
#include "server/handlers.h"
#include "server/json_io.h"

namespace rt::server {
namespace {

ApiResponse legacy_body(int status, std::string_view key, std::string_view text) {
  return bare_response(status, json{{std::string(key), std::string(text)}});
}

Result<bool> partial_param(const ApiRequest& req) {
  auto partial = query_param(req.query, "partial");
  if (!partial || *partial == "false") return false;
  if (*partial == "true") return true;
  return make_error(ErrorKind::invalid, "partial must be true or false");
}

// Path parameters per route shape: [provider, org, repo,] commit[, language] or [org, repo,] commit[, language].
CoverageTarget target_of(const ApiRequest& req, bool named, bool with_provider, bool with_language) {
  CoverageTarget t;
  size_t i = 0;
  t.named = named;
  if (named) {
    if (with_provider) t.provider = req.params.at(i++);
    t.org = req.params.at(i++);
    t.repo = req.params.at(i++);
  }
  t.commit = req.params.at(i++);
  if (with_language) t.language = req.params.at(i++);
  return t;
}

ApiResponse upload(Service& service, const Principal& p, const ApiRequest& req, CoverageTarget target) {
  auto partial = partial_param(req);
  if (!partial) return legacy_error_response(partial.error());
  auto saved = service.upload_coverage(p, target, req.body, *partial);
  if (!saved) return legacy_error_response(saved.error());
  return legacy_body(200, "success", "Report sent!");
}

ApiResponse final_notification(Service& service, const Principal& p, CoverageTarget target) {
  auto reports = service.finish_coverage(p, target);
  if (!reports) return legacy_error_response(reports.error());
  return legacy_body(200, "success", fmt::format("Coverage of commit {} is final ({} report{})", target.commit,
                                                 *reports, *reports == 1 ? "" : "s"));
}

json percent_json(std::int64_t covered, std::int64_t coverable) { return coverage_percent(covered, coverable); }

json upload_json(const CoverageUpload& u) {
  json j = {{"commit", u.commit},
            {"language", u.language},
            {"status", coverage_status_name(u.status)},
            {"files", u.files},
            {"coverage", percent_json(u.covered, u.coverable)},
            {"coveredLines", u.covered},
            {"coverableLines", u.coverable},
            {"bytes", u.bytes},
            {"uploadedAt", format_rfc3339(u.at)}};
  if (u.status == CoverageStatus::failed) j["reason"] = u.reason;
  return j;
}

json commit_coverage_json(const CommitCoverage& c) {
  json reports = json::array();
  for (const auto& r : c.reports)
    reports.push_back({{"language", r.language}, {"status", coverage_status_name(r.status)}, {"files", r.files},
                       {"coverage", percent_json(r.covered, r.coverable)}, {"coveredLines", r.covered},
                       {"coverableLines", r.coverable}, {"updatedAt", format_rfc3339(r.updated_at)}});
  json files = json::array();
  for (const auto& f : c.files)
    files.push_back({{"filename", f.file.name}, {"language", f.language},
                     {"coverage", percent_json(f.file.covered, f.file.coverable)},
                     {"coveredLines", f.file.covered}, {"coverableLines", f.file.coverable}});
  return {{"commit", c.commit}, {"status", c.final ? "final" : "partial"},
          {"coverage", percent_json(c.covered, c.coverable)}, {"coveredLines", c.covered},
          {"coverableLines", c.coverable}, {"reports", std::move(reports)}, {"files", std::move(files)}};
}

// Codacy's CoverageReport status for one of our uploads: a final report is Processed; a partial one
// still waits for its coverageFinal, which Codacy calls MissingFinal. (Refused uploads are not listed.)
std::string_view codacy_report_status(CoverageStatus s) {
  return s == CoverageStatus::final ? "Processed" : "MissingFinal";
}

json codacy_report_json(const CoverageUpload& u) {
  return {{"targetCommitSha", u.commit},
          {"language", u.language},
          {"createdAt", format_rfc3339(u.at)},
          {"status", codacy_report_status(u.status)}};
}

// Codacy's Commit: repotokensd sees no git history, so the author, message and parents are unknown ("" and
// none) and the timestamp is when the commit's first report arrived (docs/compatibility-notes.md).
json codacy_commit_json(const CommitCoverage& c) {
  return {{"sha", c.commit},
          {"id", c.id},
          {"commitTimestamp", format_rfc3339(c.first_seen)},
          {"authorName", ""},
          {"authorEmail", ""},
          {"message", ""}};
}

}  // namespace

ApiResponse legacy_error_response(const Error& error) {
  std::string_view text = error.message;
  // Reporters expect exactly "not found" for a token that is unknown, revoked or for another repository.
  if (error.kind == ErrorKind::unauthorized ||
      (error.kind == ErrorKind::not_found && !error.message.starts_with("no coverage")))
    text = "not found";
  return legacy_body(status_of(error.kind), "error", text);
}

ApiResponse upload_coverage_by_token(Service& s, const Principal& p, const ApiRequest& req) {
  return upload(s, p, req, target_of(req, false, false, true));
}
ApiResponse final_coverage_by_token(Service& s, const Principal& p, const ApiRequest& req) {
  return final_notification(s, p, target_of(req, false, false, false));
}
ApiResponse upload_coverage_by_name(Service& s, const Principal& p, const ApiRequest& req) {
  return upload(s, p, req, target_of(req, true, true, true));
}
ApiResponse final_coverage_by_name(Service& s, const Principal& p, const ApiRequest& req) {
  return final_notification(s, p, target_of(req, true, true, false));
}
ApiResponse upload_coverage_without_provider(Service& s, const Principal& p, const ApiRequest& req) {
  return upload(s, p, req, target_of(req, true, false, true));
}
ApiResponse final_coverage_without_provider(Service& s, const Principal& p, const ApiRequest& req) {
  return final_notification(s, p, target_of(req, true, false, false));
}

ApiResponse list_coverage_reports(Service& service, const Principal& p, const ApiRequest& req) {
  auto view = service.coverage_status(p, repo_ref(req), query_param(req.query, "limit"));
  if (!view) return failure(view);
  json reports = json::array();
  for (const auto& u : view->uploads) reports.push_back(codacy_report_json(u));
  return data_response(200, json{{"hasCoverageOverview", view->has_coverage}, {"lastReports", std::move(reports)}});
}

ApiResponse list_coverage_uploads(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  auto uploads = service.list_coverage_uploads(p, repo_ref(req), *page);
  if (!uploads) return failure(uploads);
  json items = json::array();
  for (const auto& u : uploads->items) items.push_back(upload_json(u));
  return list_response(std::move(items), uploads->cursor, uploads->limit, uploads->total);
}

// CommitWithAnalysis, bare as Codacy's document has it. Coverage counts the commit's final reports only;
// the delta needs the parent commit, which repotokensd does not know, so it is left out.
ApiResponse get_commit(Service& service, const Principal& p, const ApiRequest& req) {
  auto c = service.commit_coverage(p, repo_ref(req), req.params.at(3));
  if (!c) return failure(c);
  json coverage = json::object();
  if (c->processed.reports > 0)
    coverage["totalCoveragePercentage"] = percent_json(c->processed.covered, c->processed.coverable);
  return bare_response(200, json{{"commit", codacy_commit_json(*c)},
                                 {"coverage", std::move(coverage)},
                                 {"meta", {{"analyzable", false}, {"reason", "repotokensd stores coverage reports "
                                                                             "and does not analyse code"}}}});
}

ApiResponse get_repository_with_analysis(Service& service, const Principal& p, const ApiRequest& req) {
  auto r = service.repository_coverage(p, repo_ref(req));
  if (!r) return failure(r);
  json data = {{"repository", repository_json(r->repository.repository, r->repository.permission)}};
  json coverage = json::object();
  if (r->latest && r->latest->processed.reports > 0) {
    const ProcessedCoverage& c = r->latest->processed;
    const double pct = coverage_percent(c.covered, c.coverable);
    coverage = {{"filesUncovered", c.uncovered_files},
                {"coveragePercentage", static_cast<std::int64_t>(pct)},
                {"coveragePercentageWithDecimals", pct},
                {"numberTotalFiles", c.files},
                {"numberCoveredLines", c.covered},
                {"numberCoverableLines", c.coverable}};
  }
  data["coverage"] = std::move(coverage);
  return data_response(200, std::move(data));
}

ApiResponse get_commit_coverage(Service& service, const Principal& p, const ApiRequest& req) {
  auto summary = service.commit_coverage(p, repo_ref(req), req.params.at(3));
  if (!summary) return failure(summary);
  return data_response(200, commit_coverage_json(*summary));
}

}  // namespace rt::server
