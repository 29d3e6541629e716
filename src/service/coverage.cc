// The coverage rules: who may upload where (a project token to its own repository, an account token with
// write permission to the named one, the provider-less form resolved across providers), what a commit and
// a language may look like, failed uploads logged with their reason, audit and metrics of uploads.
#include <algorithm>
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

// Lower-cased, surrounding spaces dropped; letters, digits, spaces and + # . _ - (c++, c#, objective-c,
// "visual basic": the router has percent-decoded the path segment already).
Result<std::string> normalize_language(const std::string& raw) {
  const size_t first = raw.find_first_not_of(' ');
  const std::string language = first == std::string::npos ? std::string() : raw.substr(first, raw.find_last_not_of(' ') - first + 1);
  if (language.empty() || language.size() > 50)
    return make_error(ErrorKind::invalid, "language must have 1 to 50 characters");
  std::string out;
  for (char c : language) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '+' && c != '#' && c != '.' && c != '_' && c != '-' && c != ' ')
      return make_error(ErrorKind::invalid, fmt::format("language \"{}\" has characters other than letters, digits, "
                                                        "spaces and + # . _ -", echo_ascii(language, 50)));
    out.push_back(static_cast<char>(std::tolower(u)));
  }
  return out;
}

}  // namespace

Result<Access> Service::coverage_access(const Principal& p, const CoverageTarget& t) {
  if (p.kind == Principal::Kind::anonymous)  // a Public repository is readable without a token, never writable
    return make_error(ErrorKind::unauthorized, "missing credentials: uploading coverage takes a project-token or an "
                                               "api-token header");
  Access a;
  if (!t.named) {
    if (p.kind != Principal::Kind::repository_token)
      return make_error(ErrorKind::forbidden, "this endpoint takes a project token (project-token header); with an "
                                              "account token use /2.0/{provider}/{org}/{repo}/commit/...");
    const Id repo_id = p.repository_token.repository_id;
    RT_TRY(a.repo, timed("get_repository_by_id", [&] { return store_.get_repository_by_id(repo_id); }));
    RT_TRY(a.org, timed("get_organization_by_id", [&] { return store_.get_organization_by_id(a.repo->org_id); }));
  } else if (t.provider) {
    RT_TRY(a, parts_->resolver.repo_access(p, RepoRef{OrgRef{*t.provider, t.org}, t.repo}, true));
  } else {
    // The oldest reporters name no provider: the repository must be unique among those the caller can see.
    std::vector<std::pair<std::string, Access>> found;
    for (const char* code : kProviderCodes) {
      auto access = parts_->resolver.repo_access(p, RepoRef{OrgRef{code, t.org}, t.repo}, true);
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

Result<CoverageStatusView> Service::coverage_status(const Principal& p, const RepoRef& ref,
                                                    std::optional<std::string> limit) {
  RT_TRY(PageRequest page, make_page_request(std::nullopt, std::move(limit)));
  CoverageStore& cs = store_.coverage();
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  CoverageUploadQuery q;
  q.repository_id = a.repo->id;
  q.accepted_only = true;  // a refused upload is no report in Codacy's sense: the upload log shows those
  q.limit = page.limit;
  RT_TRY(Page<CoverageUpload> rows, timed("list_coverage_uploads", [&] { return cs.query_coverage_uploads(q); }));
  RT_TRY(std::optional<std::string> latest, timed("latest_final_commit", [&] { return cs.latest_final_commit(a.repo->id); }));
  return CoverageStatusView{latest.has_value(), std::move(rows.items)};
}

Result<ListPage<CoverageUpload>> Service::list_coverage_uploads(const Principal& p, const RepoRef& ref,
                                                                const PageRequest& page) {
  CoverageStore& cs = store_.coverage();
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  const std::string scope = fmt::format("coverage-uploads:{}", a.repo->id);
  CoverageUploadQuery q;
  q.repository_id = a.repo->id;
  q.limit = page.limit;
  RT_TRY(q.before_id, cursor_id(cursors_, scope, page));
  RT_TRY(Page<CoverageUpload> rows, timed("list_coverage_uploads", [&] { return cs.query_coverage_uploads(q); }));
  return to_list_page<CoverageUpload>(cursors_, scope, std::move(rows), page.limit,
                                      [](const CoverageUpload& u) { return std::to_string(u.id); });
}

Result<CommitCoverage> Service::commit_coverage(const Principal& p, const RepoRef& ref, const std::string& commit) {
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RT_TRY_STATUS(check_commit(commit));
  return load_commit_coverage(a.repo->id, commit);
}

Result<RepositoryCoverage> Service::repository_coverage(const Principal& p, const RepoRef& ref) {
  RT_TRY(Access a, parts_->resolver.repo_access(p, ref));
  RepositoryCoverage out{RepositoryView{*a.repo, a.permission}, std::nullopt};
  CoverageStore& cs = store_.coverage();
  RT_TRY(std::optional<std::string> latest, timed("latest_final_commit", [&] { return cs.latest_final_commit(a.repo->id); }));
  if (latest) {
    RT_TRY(out.latest, load_commit_coverage(a.repo->id, *latest));
  }
  return out;
}

Result<CommitCoverage> Service::load_commit_coverage(Id repository_id, const std::string& commit) {
  CoverageStore& cs = store_.coverage();
  RT_TRY(auto records, timed("get_commit_coverage", [&] { return cs.get_commit_coverage(repository_id, commit); }));
  if (records.empty()) return make_error(ErrorKind::not_found, "no coverage was uploaded for commit " + commit);
  CommitCoverage out;
  out.commit = commit;
  out.final = true;
  out.id = records.front().id;
  out.first_seen = records.front().created_at;
  for (auto& r : records) {
    out.id = std::min(out.id, r.id);
    out.first_seen = std::min(out.first_seen, r.created_at);
    out.covered += r.covered;
    out.coverable += r.coverable;
    out.final = out.final && r.final;
    out.reports.push_back(CommitCoverageReport{.language = r.language,
                                               .status = r.final ? CoverageStatus::final : CoverageStatus::partial,
                                               .files = r.files, .covered = r.covered, .coverable = r.coverable,
                                               .updated_at = r.updated_at});
    RT_TRY(auto files, summarize_coverage(r.data));
    if (r.final) {
      ++out.processed.reports;
      out.processed.files += r.files;
      out.processed.covered += r.covered;
      out.processed.coverable += r.coverable;
      for (const auto& f : files) out.processed.uncovered_files += f.covered == 0 ? 1 : 0;
    }
    for (auto& f : files) out.files.push_back(CommitCoverageFile{r.language, std::move(f)});
  }
  return out;
}

}  // namespace rt
