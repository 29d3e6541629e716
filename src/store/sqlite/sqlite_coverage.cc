// SQLite store: coverage reports (one compact blob per repository/commit/language, partial uploads merged
// into it inside the writer's transaction) and the bounded upload log behind listCoverageReports.
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace rt::sqlite {
namespace {

#define RT_COVERAGE_UPLOAD_COLUMNS \
  "id, repository_id, commit_sha, language, status, reason, files, covered, coverable, bytes, at"

Value::Blob blob_of(const std::string& data) {
  return Value::Blob(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
}

CoverageUpload read_upload(const Rows& r) {
  return CoverageUpload{.id = r.int64(0), .repository_id = r.int64(1), .commit = r.text(2), .language = r.text(3),
                        .status = parse_coverage_status(r.text(4)), .reason = r.text(5), .files = r.int64(6),
                        .covered = r.int64(7), .coverable = r.int64(8), .bytes = r.int64(9), .at = r.int64(10)};
}

// Appends to the log and drops entries beyond the newest kCoverageLogKept of the repository. (Ids are shared
// by all repositories, so the cut is the kCoverageLogKept-th newest id of this one, not an id distance.)
Result<CoverageUpload> log_upload(Connection& c, CoverageUpload u) {
  RT_TRY_STATUS(c.execute("INSERT INTO coverage_uploads(repository_id, commit_sha, language, status, reason, files,"
                          " covered, coverable, bytes, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                          {u.repository_id, u.commit, u.language, coverage_status_name(u.status), u.reason, u.files,
                           u.covered, u.coverable, u.bytes, u.at}));
  u.id = c.last_insert_id();
  RT_TRY_STATUS(c.execute("DELETE FROM coverage_uploads WHERE repository_id = ?1 AND id < (SELECT id"
                          " FROM coverage_uploads WHERE repository_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                          {u.repository_id, kCoverageLogKept - 1}));
  return u;
}

Status require_repository(Connection& c, Id repository_id) {
  RT_TRY(auto repo, c.query_int64("SELECT 1 FROM repositories WHERE id = ?1", {repository_id}));
  if (!repo) return not_found("no repository with id " + std::to_string(repository_id));
  return ok_status();
}

}  // namespace

Result<CoverageUpload> SqliteStore::save_coverage(const CoverageWrite& w) {
  return write<CoverageUpload>([&](Connection& c) -> Result<CoverageUpload> {
    RT_TRY_STATUS(require_repository(c, w.repository_id));
    const EncodedCoverage* report = &w.report;
    EncodedCoverage merged;
    if (w.partial) {  // accumulate into a stored partial report of the same commit and language
      RT_TRY(Rows rows, c.query("SELECT data FROM coverage_reports"
                                " WHERE repository_id = ?1 AND commit_sha = ?2 AND language = ?3 AND final = 0",
                                {w.repository_id, w.commit, w.language}));
      RT_TRY(bool has, rows.next());
      if (has) {
        auto stored = rows.blob(0);
        std::string_view bytes(reinterpret_cast<const char*>(stored.data()), stored.size());
        RT_TRY(merged, merge_coverage(bytes, w.report.data));
        report = &merged;
      }
    }
    RT_TRY_STATUS(c.execute(
        "INSERT INTO coverage_reports(repository_id, commit_sha, language, final, files, covered, coverable, data,"
        " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
        " ON CONFLICT (repository_id, commit_sha, language) DO UPDATE SET final = excluded.final,"
        " files = excluded.files, covered = excluded.covered, coverable = excluded.coverable, data = excluded.data,"
        " updated_at = excluded.updated_at",
        {w.repository_id, w.commit, w.language, !w.partial, report->files, report->covered, report->coverable,
         blob_of(report->data), w.at}));
    if (w.audit) RT_TRY_STATUS(insert_audit(c, *w.audit));
    return log_upload(c, CoverageUpload{.id = 0, .repository_id = w.repository_id, .commit = w.commit,
                                        .language = w.language,
                                        .status = w.partial ? CoverageStatus::partial : CoverageStatus::final,
                                        .reason = {}, .files = report->files, .covered = report->covered,
                                        .coverable = report->coverable, .bytes = w.bytes, .at = w.at});
  });
}

Result<CoverageUpload> SqliteStore::record_failed_coverage(const CoverageUpload& failed) {
  return write<CoverageUpload>([&](Connection& c) -> Result<CoverageUpload> {
    RT_TRY_STATUS(require_repository(c, failed.repository_id));
    CoverageUpload u = failed;
    u.status = CoverageStatus::failed;
    return log_upload(c, std::move(u));
  });
}

Result<int> SqliteStore::finalize_coverage(Id repository_id, const std::string& commit, UnixTime at,
                                           const std::optional<AuditEvent>& audit) {
  return write<int>([&](Connection& c) -> Result<int> {
    RT_TRY(auto reports, c.query_int64("SELECT count(*) FROM coverage_reports WHERE repository_id = ?1"
                                       " AND commit_sha = ?2", {repository_id, commit}));
    if (reports.value_or(0) == 0) return not_found("no coverage was uploaded for commit " + commit);
    RT_TRY_STATUS(c.execute("UPDATE coverage_reports SET final = 1, updated_at = ?3"
                            " WHERE repository_id = ?1 AND commit_sha = ?2 AND final = 0",
                            {repository_id, commit, at}));
    // The uploads that built the reports now show the final state of their commit and language.
    RT_TRY_STATUS(c.execute(
        "UPDATE coverage_uploads SET status = 'final',"
        " files = (SELECT r.files FROM coverage_reports r WHERE r.repository_id = coverage_uploads.repository_id"
        "   AND r.commit_sha = coverage_uploads.commit_sha AND r.language = coverage_uploads.language),"
        " covered = (SELECT r.covered FROM coverage_reports r WHERE r.repository_id = coverage_uploads.repository_id"
        "   AND r.commit_sha = coverage_uploads.commit_sha AND r.language = coverage_uploads.language),"
        " coverable = (SELECT r.coverable FROM coverage_reports r WHERE r.repository_id = coverage_uploads.repository_id"
        "   AND r.commit_sha = coverage_uploads.commit_sha AND r.language = coverage_uploads.language)"
        " WHERE repository_id = ?1 AND commit_sha = ?2 AND status = 'partial'",
        {repository_id, commit}));
    if (audit) RT_TRY_STATUS(insert_audit(c, *audit));
    return static_cast<int>(*reports);
  });
}

Result<Page<CoverageUpload>> SqliteStore::query_coverage_uploads(const CoverageUploadQuery& q) {
  RT_TRY_STATUS(check_limit(q.limit));
  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<CoverageUpload>> {
      // Fixed texts per shape (no "?2 IS NULL OR ..."), so that SQLite seeks on the index.
      const std::string accepted = q.accepted_only ? " AND status <> 'failed'" : "";
      const std::string keyset = q.before_id ? " AND id < ?3" : "";
      std::vector<Value> params{Value(q.repository_id), Value(std::int64_t{q.limit} + 1)};
      if (q.before_id) params.emplace_back(*q.before_id);
      RT_TRY(Rows rows, c.query("SELECT " RT_COVERAGE_UPLOAD_COLUMNS " FROM coverage_uploads WHERE repository_id = ?1" +
                                    accepted + keyset + " ORDER BY id DESC LIMIT ?2",
                                params));
      Page<CoverageUpload> page;
      for (;;) {
        RT_TRY(bool has, rows.next());
        if (!has) break;
        page.items.push_back(read_upload(rows));
      }
      if (static_cast<int>(page.items.size()) > q.limit) {
        page.items.pop_back();
        page.more = true;
      }
      RT_TRY(auto total, c.query_int64("SELECT count(*) FROM coverage_uploads WHERE repository_id = ?1" + accepted,
                                       {q.repository_id}));
      page.total = total.value_or(0);
      return page;
    });
  });
}

Result<std::vector<CoverageReportRecord>> SqliteStore::get_commit_coverage(Id repository_id,
                                                                           const std::string& commit) {
  return read([&](Connection& c) -> Result<std::vector<CoverageReportRecord>> {
    RT_TRY(Rows rows, c.query("SELECT language, final, files, covered, coverable, data, updated_at, id, created_at"
                              " FROM coverage_reports WHERE repository_id = ?1 AND commit_sha = ?2"
                              " ORDER BY language", {repository_id, commit}));
    std::vector<CoverageReportRecord> out;
    for (;;) {
      RT_TRY(bool has, rows.next());
      if (!has) break;
      auto data = rows.blob(5);
      out.push_back(CoverageReportRecord{.id = rows.int64(7), .language = rows.text(0),
                                         .final = rows.int64(1) != 0, .files = rows.int64(2),
                                         .covered = rows.int64(3), .coverable = rows.int64(4),
                                         .data = std::string(reinterpret_cast<const char*>(data.data()), data.size()),
                                         .created_at = rows.int64(8), .updated_at = rows.int64(6)});
    }
    return out;
  });
}

Result<std::optional<std::string>> SqliteStore::latest_final_commit(Id repository_id) {
  return read([&](Connection& c) -> Result<std::optional<std::string>> {
    RT_TRY(Rows rows, c.query("SELECT commit_sha FROM coverage_reports WHERE repository_id = ?1 AND final = 1"
                              " ORDER BY updated_at DESC, id DESC LIMIT 1", {repository_id}));
    RT_TRY(bool has, rows.next());
    if (!has) return std::optional<std::string>();
    return std::optional<std::string>(rows.text(0));
  });
}

}  // namespace rt::sqlite
