// Coverage storage: per repository, commit and language one report in the compact form of
// coverage_data.h (partial uploads merged into it until the commit's final notification), plus a log of
// recent uploads (accepted or failed) for listCoverageReports. A separate interface from Store, reached
// through Store::coverage(); both backends implement it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "store/coverage_data.h"
#include "store/store.h"

namespace rt {

enum class CoverageStatus { partial, final, failed };
std::string_view coverage_status_name(CoverageStatus s);
// The inverse, for the stored names; anything else reads as failed.
CoverageStatus parse_coverage_status(std::string_view name);

// One upload as listCoverageReports shows it. For an accepted upload, files/covered/coverable are those of
// the commit's report for that language once the upload was merged into it.
struct CoverageUpload {
  Id id = 0;
  Id repository_id = 0;
  std::string commit;
  std::string language;
  CoverageStatus status = CoverageStatus::partial;
  std::string reason;  // failed only: what was wrong
  std::int64_t files = 0;
  std::int64_t covered = 0;
  std::int64_t coverable = 0;
  std::int64_t bytes = 0;  // request body size
  UnixTime at = 0;
};

// The stored report of one commit and language.
struct CoverageReportRecord {
  Id id = 0;  // the row's id: the first report of a commit has the commit's smallest
  std::string language;
  bool final = false;
  std::int64_t files = 0;
  std::int64_t covered = 0;
  std::int64_t coverable = 0;
  std::string data;  // the compact form
  UnixTime created_at = 0;  // when its first upload arrived
  UnixTime updated_at = 0;
};

// Which entries of a repository's upload log to list: newest first (descending id).
struct CoverageUploadQuery {
  Id repository_id = 0;
  bool accepted_only = false;    // leave out refused (failed) uploads
  std::optional<Id> before_id;   // keyset position: the last id of the previous page
  int limit = 100;               // 1..1000
};

struct CoverageWrite {
  Id repository_id = 0;
  std::string commit;
  std::string language;
  // partial: merged into the stored report unless that one is final (then it starts over); otherwise
  // the report replaces whatever was stored and is final at once.
  bool partial = false;
  EncodedCoverage report;
  std::int64_t bytes = 0;
  UnixTime at = 0;
  std::optional<AuditEvent> audit;  // written in the same transaction
};

class CoverageStore {
 public:
  virtual ~CoverageStore() = default;
  // Stores the report and logs the upload; returns the log entry. not_found when the repository is gone.
  virtual Result<CoverageUpload> save_coverage(const CoverageWrite& write) = 0;
  // Logs a refused upload (status failed, `reason` set); no report changes.
  virtual Result<CoverageUpload> record_failed_coverage(const CoverageUpload& failed) = 0;
  // Marks every report of the commit final (and the uploads that built them). Returns how many reports;
  // not_found when the commit has none.
  virtual Result<int> finalize_coverage(Id repository_id, const std::string& commit, UnixTime at,
                                        const std::optional<AuditEvent>& audit) = 0;
  // One page of the log, newest first; `total` counts the entries the query matches over all pages (the
  // log keeps the latest kCoverageLogKept per repository). `invalid` for a limit outside 1..1000.
  virtual Result<Page<CoverageUpload>> query_coverage_uploads(const CoverageUploadQuery& query) = 0;
  // The first page of every entry, at most `limit`.
  Result<std::vector<CoverageUpload>> list_coverage_uploads(Id repository_id, int limit) {
    CoverageUploadQuery query;
    query.repository_id = repository_id;
    query.limit = limit;
    RT_TRY(Page<CoverageUpload> page, query_coverage_uploads(query));
    return std::move(page.items);
  }
  // Every language's report of the commit, ascending language; empty when none.
  virtual Result<std::vector<CoverageReportRecord>> get_commit_coverage(Id repository_id,
                                                                        const std::string& commit) = 0;
  // The commit whose final report changed last (ties: the newest report row), nullopt when the repository
  // has no final report.
  virtual Result<std::optional<std::string>> latest_final_commit(Id repository_id) = 0;
};

inline constexpr int kCoverageLogKept = 1000;

}  // namespace rt
