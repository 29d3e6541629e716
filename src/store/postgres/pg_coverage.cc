// PostgreSQL store: coverage reports (one compact bytea per repository/commit/language; partial uploads
// racing from several nodes are merged under the report row's lock, none lost) and the bounded upload
// log behind listCoverageReports.
#include "store/postgres/pg_rows.h"
#include "store/postgres/postgres_store.h"

namespace rt::postgres {
namespace {

#define RT_PG_COVERAGE_UPLOAD_COLUMNS \
  "id, repository_id, commit_sha, language, status, reason, files, covered, coverable, bytes, at"

CoverageUpload read_upload(const Rows& r, int i) {
  return CoverageUpload{.id = r.int64(i, 0), .repository_id = r.int64(i, 1), .commit = r.text(i, 2),
                        .language = r.text(i, 3), .status = parse_coverage_status(r.text(i, 4)),
                        .reason = r.text(i, 5), .files = r.int64(i, 6), .covered = r.int64(i, 7),
                        .coverable = r.int64(i, 8), .bytes = r.int64(i, 9), .at = r.int64(i, 10)};
}

// A foreign-key failure on the repository (it was never there, or was deleted meanwhile) as the store's
// usual not_found; other errors pass unchanged.
Error repository_gone(Error error, Id repository_id) {
  if (error.kind == ErrorKind::not_found) error.message = "no repository with id " + std::to_string(repository_id);
  return error;
}

// Appends to the log and drops the repository's entries older than its newest kCoverageLogKept. (Ids are
// shared by all repositories, so the cut is the kCoverageLogKept-th newest id of this one, not an id
// distance.) Concurrent uploads to other commits of the repository may briefly leave one or two more; the
// next upload trims them.
Result<CoverageUpload> log_upload(Connection& c, CoverageUpload u) {
  auto id = c.query_int64("INSERT INTO coverage_uploads(repository_id, commit_sha, language, status, reason, files,"
                          " covered, coverable, bytes, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                          " RETURNING id",
                          {u.repository_id, u.commit, u.language, coverage_status_name(u.status), u.reason, u.files,
                           u.covered, u.coverable, u.bytes, u.at});
  if (!id) return repository_gone(id.error(), u.repository_id);
  u.id = id->value_or(0);
  RT_TRY(Rows trimmed, c.exec("DELETE FROM coverage_uploads WHERE repository_id = $1 AND id < (SELECT id"
                              " FROM coverage_uploads WHERE repository_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)",
                              {u.repository_id, kCoverageLogKept - 1}));
  (void)trimmed;
  return u;
}

// A partial upload: the stored partial report of the commit and language with `w.report` merged in, or
// `w.report` alone when there is none yet or the stored one is final (a new accumulation). The row is
// locked (or created) first, so concurrent parts of one report, on any node, queue here and each merges
// into what the previous one committed: under READ COMMITTED, a SELECT ... FOR UPDATE that had to wait
// reads the row's newest version. Returns nullopt when w.report is the result as it is.
Result<std::optional<EncodedCoverage>> merge_partial(Connection& c, const CoverageWrite& w) {
  const EncodedCoverage& r = w.report;
  const std::string lock = "SELECT final, data FROM coverage_reports"
                           " WHERE repository_id = $1 AND commit_sha = $2 AND language = $3 FOR UPDATE";
  RT_TRY(Rows stored, c.exec(lock, {w.repository_id, w.commit, w.language}));
  if (stored.size() == 0) {
    // The first part needs no merge. ON CONFLICT DO NOTHING waits for another first part's uncommitted
    // insert of the same row and then yields to it: this part then locks that row like any later one.
    auto created = c.query_int64(
        "INSERT INTO coverage_reports(repository_id, commit_sha, language, final, files, covered, coverable, data,"
        " created_at, updated_at) VALUES ($1, $2, $3, false, $4, $5, $6, $7, $8, $8)"
        " ON CONFLICT (repository_id, commit_sha, language) DO NOTHING RETURNING id",
        {w.repository_id, w.commit, w.language, r.files, r.covered, r.coverable, Value::bytes(r.data), w.at});
    if (!created) return repository_gone(created.error(), w.repository_id);
    if (*created) return std::optional<EncodedCoverage>();
    RT_TRY(stored, c.exec(lock, {w.repository_id, w.commit, w.language}));
    // Gone between the two statements: only deleting the repository deletes reports.
    if (stored.size() == 0) return not_found("no repository with id " + std::to_string(w.repository_id));
  }
  std::optional<EncodedCoverage> merged;
  if (!stored.boolean(0, 0)) {
    RT_TRY(merged, merge_coverage(stored.bytes(0, 1), r.data));
  }
  const EncodedCoverage& result = merged ? *merged : r;
  RT_TRY(Rows updated, c.exec("UPDATE coverage_reports SET final = false, files = $4, covered = $5, coverable = $6,"
                              " data = $7, updated_at = $8"
                              " WHERE repository_id = $1 AND commit_sha = $2 AND language = $3",
                              {w.repository_id, w.commit, w.language, result.files, result.covered,
                               result.coverable, Value::bytes(result.data), w.at}));
  (void)updated;
  return merged;
}

// A complete upload replaces whatever the commit had for the language, in one statement that takes the
// row's lock (a racing partial part merges into it afterwards, or it replaces the merged part).
Status replace_report(Connection& c, const CoverageWrite& w) {
  const EncodedCoverage& r = w.report;
  auto saved = c.exec(
      "INSERT INTO coverage_reports(repository_id, commit_sha, language, final, files, covered, coverable, data,"
      " created_at, updated_at) VALUES ($1, $2, $3, true, $4, $5, $6, $7, $8, $8)"
      " ON CONFLICT (repository_id, commit_sha, language) DO UPDATE SET final = true, files = excluded.files,"
      " covered = excluded.covered, coverable = excluded.coverable, data = excluded.data,"
      " updated_at = excluded.updated_at",
      {w.repository_id, w.commit, w.language, r.files, r.covered, r.coverable, Value::bytes(r.data), w.at});
  if (!saved) return repository_gone(saved.error(), w.repository_id);
  return ok_status();
}

}  // namespace

Result<CoverageUpload> PostgresStore::save_coverage(const CoverageWrite& w) {
  return write<CoverageUpload>([&](Connection& c) -> Result<CoverageUpload> {
    std::optional<EncodedCoverage> merged;
    if (w.partial) {
      RT_TRY(merged, merge_partial(c, w));
    } else {
      RT_TRY_STATUS(replace_report(c, w));
    }
    const EncodedCoverage& report = merged ? *merged : w.report;
    if (w.audit) RT_TRY_STATUS(insert_audit(c, *w.audit));
    return log_upload(c, CoverageUpload{.id = 0, .repository_id = w.repository_id, .commit = w.commit,
                                        .language = w.language,
                                        .status = w.partial ? CoverageStatus::partial : CoverageStatus::final,
                                        .reason = {}, .files = report.files, .covered = report.covered,
                                        .coverable = report.coverable, .bytes = w.bytes, .at = w.at});
  });
}

Result<CoverageUpload> PostgresStore::record_failed_coverage(const CoverageUpload& failed) {
  return write<CoverageUpload>([&](Connection& c) -> Result<CoverageUpload> {
    CoverageUpload u = failed;
    u.status = CoverageStatus::failed;
    return log_upload(c, std::move(u));
  });
}

Result<int> PostgresStore::finalize_coverage(Id repository_id, const std::string& commit, UnixTime at,
                                             const std::optional<AuditEvent>& audit) {
  return write<int>([&](Connection& c) -> Result<int> {
    // Locks every report of the commit (waiting for parts being merged), so that the next statement, with
    // a snapshot taken after the wait, also sees the log entries those parts committed.
    RT_TRY(Rows reports, c.exec("UPDATE coverage_reports SET final = true,"
                                " updated_at = CASE WHEN final THEN updated_at ELSE $3 END"
                                " WHERE repository_id = $1 AND commit_sha = $2 RETURNING id",
                                {repository_id, commit, at}));
    if (reports.size() == 0) return not_found("no coverage was uploaded for commit " + commit);
    // The uploads that built the reports now show the final state of their commit and language.
    RT_TRY(Rows uploads, c.exec("UPDATE coverage_uploads u SET status = 'final', files = r.files,"
                                " covered = r.covered, coverable = r.coverable FROM coverage_reports r"
                                " WHERE u.repository_id = $1 AND u.commit_sha = $2 AND u.status = 'partial'"
                                " AND r.repository_id = u.repository_id AND r.commit_sha = u.commit_sha"
                                " AND r.language = u.language",
                                {repository_id, commit}));
    (void)uploads;
    if (audit) RT_TRY_STATUS(insert_audit(c, *audit));
    return reports.size();
  });
}

Result<Page<CoverageUpload>> PostgresStore::query_coverage_uploads(const CoverageUploadQuery& cq) {
  RT_TRY_STATUS(check_limit(cq.limit));
  Query q;
  std::string filter = " FROM coverage_uploads WHERE repository_id = " + q.bind(cq.repository_id);
  if (cq.accepted_only) filter += " AND status <> 'failed'";
  Query count{"SELECT count(*)" + filter, q.args};
  if (cq.before_id) filter += " AND id < " + q.bind(*cq.before_id);
  q.sql = "SELECT " RT_PG_COVERAGE_UPLOAD_COLUMNS + filter + " ORDER BY id DESC LIMIT ";
  q.sql += q.bind(cq.limit + 1);
  return snapshot<Page<CoverageUpload>>([&](Connection& c) -> Result<Page<CoverageUpload>> {
    RT_TRY(Rows rows, c.exec(q.sql, q.args));
    auto page = make_page<CoverageUpload>(rows, cq.limit, [](const Rows& r, int i) { return read_upload(r, i); });
    RT_TRY(auto total, c.query_int64(count.sql, count.args));
    page.total = total.value_or(0);
    return page;
  });
}

Result<std::vector<CoverageReportRecord>> PostgresStore::get_commit_coverage(Id repository_id,
                                                                             const std::string& commit) {
  return read<std::vector<CoverageReportRecord>>([&](Connection& c) -> Result<std::vector<CoverageReportRecord>> {
    RT_TRY(Rows rows, c.exec("SELECT language, final, files, covered, coverable, data, updated_at, id, created_at"
                             " FROM coverage_reports WHERE repository_id = $1 AND commit_sha = $2"
                             " ORDER BY language",
                             {repository_id, commit}));
    std::vector<CoverageReportRecord> out;
    out.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i)
      out.push_back(CoverageReportRecord{.id = rows.int64(i, 7), .language = rows.text(i, 0),
                                         .final = rows.boolean(i, 1), .files = rows.int64(i, 2),
                                         .covered = rows.int64(i, 3), .coverable = rows.int64(i, 4),
                                         .data = rows.bytes(i, 5), .created_at = rows.int64(i, 8),
                                         .updated_at = rows.int64(i, 6)});
    return out;
  });
}

Result<std::optional<std::string>> PostgresStore::latest_final_commit(Id repository_id) {
  return read<std::optional<std::string>>([&](Connection& c) -> Result<std::optional<std::string>> {
    RT_TRY(Rows rows, c.exec("SELECT commit_sha FROM coverage_reports WHERE repository_id = $1 AND final"
                             " ORDER BY updated_at DESC, id DESC LIMIT 1",
                             {repository_id}));
    if (rows.size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(rows.text(0, 0));
  });
}

}  // namespace rt::postgres
