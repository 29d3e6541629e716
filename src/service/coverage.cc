// The coverage rules: who may upload where (a project token to its own repository, an account token with
// write permission to the named one, the provider-less form resolved across providers), what a commit and
// a language may look like, failed uploads logged with their reason, audit and metrics of uploads.
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "service/coverage_report.h"
#include "service/internal.h"

namespace rt {
namespace {

constexpr std::array kProviderCodes{"gh", "ghe", "gl", "gle", "bb", "bbe"};

void describe_metrics() {
  static const bool once = [] {
    metrics::describe("repotokens_coverage_uploads_total", "counter", "Coverage reports accepted, by kind.");
    metrics::describe("repotokens_coverage_upload_bytes_total", "counter", "Bytes of accepted coverage reports.");
    metrics::describe("repotokens_coverage_upload_failures_total", "counter",
                      "Coverage uploads refused after authentication, by reason.");
    return true;
  }();
  (void)once;
}

void count_failure(const char* reason) {
  describe_metrics();
  metrics::add("repotokens_coverage_upload_failures_total", fmt::format("reason=\"{}\"", reason));
}

// Commit ids are SHAs in practice; accept what CI systems send without letting anything odd in.
Status check_commit(const std::string& commit) {
  if (commit.empty() || commit.size() > 100)
    return make_error(ErrorKind::invalid, "commit must have 1 to 100 characters");
  for (char c : commit)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return make_error(ErrorKind::invalid, "commit may hold only letters, digits, '-', '_' and '.'");
  return ok_status();
}

// Lower-cased; letters, digits and + # . _ - (c++, c#, objective-c).
Result<std::string> normalize_language(const std::string& language) {
  if (language.empty() || language.size() > 50)
    return make_error(ErrorKind::invalid, "language must have 1 to 50 characters");
  std::string out;
  for (char c : language) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '+' && c != '#' && c != '.' && c != '_' && c != '-')
      return make_error(ErrorKind::invalid, fmt::format("language \"{}\" has characters other than letters, digits "
                                                        "and + # . _ -", echo_ascii(language, 50)));
    out.push_back(static_cast<char>(std::tolower(u)));
  }
  return out;
}

}  // namespace

Result<Service::Access> Service::coverage_access(const Principal& p, const CoverageTarget& t) {
  Access a;
  if (!t.named) {
    if (p.kind != Principal::Kind::repository_token)
      return make_error(ErrorKind::forbidden, "this endpoint takes a project token (project-token header); with an "
                                              "account token use /2.0/{provider}/{org}/{repo}/commit/...");
    const Id repo_id = p.repository_token.repository_id;
    RT_TRY(a.repo, timed("get_repository_by_id", [&] { return store_.get_repository_by_id(repo_id); }));
    RT_TRY(a.org, timed("get_organization_by_id", [&] { return store_.get_organization_by_id(a.repo->org_id); }));
  } else if (t.provider) {
    RT_TRY(a, repo_access(p, RepoRef{OrgRef{*t.provider, t.org}, t.repo}));
  } else {
    // The oldest reporters name no provider: the repository must be unique among those the caller can see.
    std::vector<std::pair<std::string, Access>> found;
    for (const char* code : kProviderCodes) {
      auto access = repo_access(p, RepoRef{OrgRef{code, t.org}, t.repo});
      if (access.ok()) found.emplace_back(code, std::move(access).value());
      else if (access.error().kind != ErrorKind::not_found) return access.error();
    }
    if (found.empty())
      return make_error(ErrorKind::not_found, fmt::format("repository {}/{} not found", t.org.substr(0, 100),
                                                          t.repo.substr(0, 100)));
    if (found.size() > 1) {
      std::string codes;
      for (const auto& [code, _] : found) codes += (codes.empty() ? "" : ", ") + code;
      return make_error(ErrorKind::invalid,
                        fmt::format("{}/{} is ambiguous: it exists under the providers {}; use "
                                    "/2.0/{{provider}}/{}/{}/commit/... to say which",
                                    t.org.substr(0, 100), t.repo.substr(0, 100), codes, t.org.substr(0, 100),
                                    t.repo.substr(0, 100)));
    }
    a = std::move(found.front().second);
  }
  if (p.kind == Principal::Kind::user && a.permission < Permission::write)
    return make_error(ErrorKind::forbidden, fmt::format("uploading coverage to {} needs write permission",
                                                        repo_path(a.org, a.repo->name)));
  return a;
}

Result<CoverageUpload> Service::upload_coverage(const Principal& p, const CoverageTarget& target,
                                                std::string_view body, bool partial) {
  describe_metrics();
  CoverageStore& cs = store_.coverage();
  auto access = coverage_access(p, target);
  if (!access.ok()) {
    count_failure(access.error().kind == ErrorKind::invalid ? "ambiguous" : "access");
    return access.error();
  }
  const Access& a = *access;
  CoverageUpload failed{.id = 0, .repository_id = a.repo->id, .commit = echo_ascii(target.commit, 100),
                        .language = echo_ascii(target.language, 50), .status = CoverageStatus::failed, .reason = {},
                        .files = 0, .covered = 0, .coverable = 0, .bytes = static_cast<std::int64_t>(body.size()),
                        .at = clock_.now()};
  // A refusal past this point is about the report itself: logged for listCoverageReports, nothing stored.
  auto refuse = [&](Error error) -> Error {
    count_failure("invalid");
    failed.reason = error.message;
    (void)timed("record_failed_coverage", [&] { return cs.record_failed_coverage(failed); });
    return error;
  };
  if (Status st = check_commit(target.commit); !st.ok()) return refuse(st.error());
  auto language = normalize_language(target.language);
  if (!language) return refuse(language.error());
  failed.language = *language;
  auto report = parse_coverage_report(body);
  if (!report) return refuse(report.error());

  CoverageWrite write{.repository_id = a.repo->id, .commit = target.commit, .language = *language,
                      .partial = partial, .report = std::move(report).value(),
                      .bytes = static_cast<std::int64_t>(body.size()), .at = clock_.now(), .audit = std::nullopt};
  if (p.kind == Principal::Kind::user)
    write.audit = audit(p, a.org.id, "coverage.upload", repo_path(a.org, a.repo->name),
                        fmt::format("commit {} language {}{}: {} files", target.commit, *language,
                                    partial ? " (partial)" : "", write.report.files));
  auto saved = timed("save_coverage", [&] { return cs.save_coverage(write); });
  if (!saved) {
    count_failure("store");
    return saved.error();
  }
  metrics::add("repotokens_coverage_uploads_total", partial ? "kind=\"partial\"" : "kind=\"complete\"");
  metrics::add("repotokens_coverage_upload_bytes_total", {}, static_cast<double>(body.size()));
  return saved;
}

Result<int> Service::finish_coverage(const Principal& p, const CoverageTarget& target) {
  describe_metrics();
  CoverageStore& cs = store_.coverage();
  RT_TRY(Access a, coverage_access(p, target));
  RT_TRY_STATUS(check_commit(target.commit));
  std::optional<AuditEvent> event;
  if (p.kind == Principal::Kind::user)
    event = audit(p, a.org.id, "coverage.final", repo_path(a.org, a.repo->name),
                  fmt::format("commit {}", target.commit));
  RT_TRY(int reports, timed("finalize_coverage", [&] {
           return cs.finalize_coverage(a.repo->id, target.commit, clock_.now(), event);
         }));
  metrics::add("repotokens_coverage_uploads_total", "kind=\"final\"");
  return reports;
}

Result<std::vector<CoverageUpload>> Service::list_coverage_reports(const Principal& p, const RepoRef& ref,
                                                                   std::optional<std::string> limit) {
  RT_TRY(PageRequest page, make_page_request(std::nullopt, std::move(limit)));
  CoverageStore& cs = store_.coverage();
  RT_TRY(Access a, repo_access(p, ref));
  return timed("list_coverage_uploads", [&] { return cs.list_coverage_uploads(a.repo->id, page.limit); });
}

Result<CommitCoverage> Service::commit_coverage(const Principal& p, const RepoRef& ref, const std::string& commit) {
  CoverageStore& cs = store_.coverage();
  RT_TRY(Access a, repo_access(p, ref));
  RT_TRY_STATUS(check_commit(commit));
  RT_TRY(auto records, timed("get_commit_coverage", [&] { return cs.get_commit_coverage(a.repo->id, commit); }));
  if (records.empty()) return make_error(ErrorKind::not_found, "no coverage was uploaded for commit " + commit);
  CommitCoverage out;
  out.commit = commit;
  out.final = true;
  for (auto& r : records) {
    out.covered += r.covered;
    out.coverable += r.coverable;
    out.final = out.final && r.final;
    out.reports.push_back(CommitCoverageReport{.language = r.language,
                                               .status = r.final ? CoverageStatus::final : CoverageStatus::partial,
                                               .files = r.files, .covered = r.covered, .coverable = r.coverable,
                                               .updated_at = r.updated_at});
    RT_TRY(auto files, summarize_coverage(r.data));
    for (auto& f : files) out.files.push_back(CommitCoverageFile{r.language, std::move(f)});
  }
  return out;
}

}  // namespace rt
