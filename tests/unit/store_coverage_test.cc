// Shared store suite: coverage reports (compact storage per repository/commit/language, partial uploads
// merged until final, replacement by a complete upload), the upload log, audit in the same transaction.
// Also the compact codec on its own.
#include <atomic>
#include <thread>

#include "store/coverage_store.h"
#include "store_test.h"

namespace rt::testing {
namespace {

EncodedCoverage report(std::vector<std::pair<std::string, std::vector<LineHits>>> files) {
  CoverageEncoder e;
  for (auto& [name, lines] : files) e.add_file(name, lines);
  return std::move(e).finish();
}

// The store's coverage side and one repository to upload to.
struct CoverageWorld {
  CoverageStore* cs = nullptr;
  Organization org;
  Repository repo;
  CoverageWrite write(std::string commit, std::string language, bool partial, EncodedCoverage r,
                      UnixTime at = 100) const {
    return CoverageWrite{.repository_id = repo.id, .commit = std::move(commit), .language = std::move(language),
                         .partial = partial, .report = std::move(r), .bytes = 10, .at = at, .audit = std::nullopt};
  }
};

#define RT_COVERAGE_WORLD(w)                     \
  CoverageWorld w;                               \
  w.cs = &store().coverage();                    \
  w.org = add_org("acme", add_user("owner").id); \
  w.repo = add_repo(w.org.id, "api")

TEST(CoverageData, EncodesSortsAndMergesRepeatedLinesAndFiles) {
  auto r = report({{"b.c", {{3, 0}, {1, 2}, {3, 5}}}, {"a.c", {{7, 0}}}, {"b.c", {{9, 1}}}});
  EXPECT_EQ(r.files, 2);
  EXPECT_EQ(r.coverable, 4);  // b.c: 1, 3, 9; a.c: 7
  EXPECT_EQ(r.covered, 3);    // b.c 1 (2 hits), 3 (0+5), 9
  auto files = must(decode_coverage(r.data));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "b.c");
  EXPECT_EQ(files[0].lines, (std::vector<LineHits>{{1, 2}, {3, 5}, {9, 1}}));
  EXPECT_EQ(files[1].lines, (std::vector<LineHits>{{7, 0}}));
  EXPECT_FALSE(decode_coverage("garbage").ok());
  EXPECT_FALSE(decode_coverage(r.data.substr(0, r.data.size() - 1)).ok());
  EXPECT_DOUBLE_EQ(coverage_percent(1, 3), 33.33);
  EXPECT_DOUBLE_EQ(coverage_percent(0, 0), 0);
}

TEST(CoverageData, CompactFarBelowARowPerLine) {
  std::vector<LineHits> lines;
  for (std::uint32_t i = 1; i <= 100000; ++i) lines.emplace_back(i, i % 3);
  auto r = report({{"big.c", lines}});
  EXPECT_LT(r.data.size(), 100000u * 4);  // a few bytes per line
  EXPECT_EQ(r.coverable, 100000);
  EXPECT_EQ(r.covered, 66667);
}

TEST_P(StoreTest, CoverageCompleteUploadIsFinalAndReplacesThePrevious) {
  RT_COVERAGE_WORLD(w);
  must(w.cs->save_coverage(w.write("abc", "go", false, report({{"a.go", {{1, 1}, {2, 0}}}}))));
  auto up = must(w.cs->save_coverage(w.write("abc", "go", false, report({{"b.go", {{1, 1}}}}), 200)));
  EXPECT_EQ(up.status, CoverageStatus::final);
  auto reports = must(w.cs->get_commit_coverage(w.repo.id, "abc"));
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].final);
  EXPECT_EQ(reports[0].files, 1);
  EXPECT_EQ(reports[0].covered, 1);
  EXPECT_EQ(reports[0].coverable, 1);
  EXPECT_EQ(must(summarize_coverage(reports[0].data))[0].name, "b.go");
}

TEST_P(StoreTest, CoveragePartialUploadsAccumulateUntilFinal) {
  RT_COVERAGE_WORLD(w);
  must(w.cs->save_coverage(w.write("abc", "go", true, report({{"a.go", {{1, 0}, {2, 0}}}}))));
  auto second = must(w.cs->save_coverage(w.write("abc", "go", true, report({{"a.go", {{2, 3}}}, {"b.go", {{5, 0}}}}))));
  EXPECT_EQ(second.status, CoverageStatus::partial);
  EXPECT_EQ(second.files, 2);
  EXPECT_EQ(second.covered, 1);
  EXPECT_EQ(second.coverable, 3);
  must(w.cs->save_coverage(w.write("abc", "python", true, report({{"x.py", {{1, 1}}}}))));
  EXPECT_FALSE(must(w.cs->get_commit_coverage(w.repo.id, "abc"))[0].final);

  EXPECT_EQ(must(w.cs->finalize_coverage(w.repo.id, "abc", 300, audit_event(w.org.id, "coverage.final"))), 2);
  auto reports = must(w.cs->get_commit_coverage(w.repo.id, "abc"));
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].language, "go");
  EXPECT_TRUE(reports[0].final && reports[1].final);
  auto log = must(w.cs->list_coverage_uploads(w.repo.id, 10));
  ASSERT_EQ(log.size(), 3u);
  for (const auto& u : log) EXPECT_EQ(u.status, CoverageStatus::final) << u.language;
  EXPECT_EQ(log[2].files, 2);  // the oldest upload now shows its report's final state

  // After final, a partial upload starts a new accumulation instead of adding to the final report.
  must(w.cs->save_coverage(w.write("abc", "go", true, report({{"c.go", {{1, 1}}}}))));
  reports = must(w.cs->get_commit_coverage(w.repo.id, "abc"));
  EXPECT_FALSE(reports[0].final);
  EXPECT_EQ(reports[0].files, 1);
}

TEST_P(StoreTest, CoverageFinalWithoutReportsIsNotFoundAndChangesNothing) {
  RT_COVERAGE_WORLD(w);
  const auto before = audit_count(w.org.id);
  auto r = w.cs->finalize_coverage(w.repo.id, "nothing", 1, audit_event(w.org.id, "coverage.final"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
  EXPECT_EQ(audit_count(w.org.id), before);
}

TEST_P(StoreTest, CoverageAuditIsWrittenWithTheUpload) {
  RT_COVERAGE_WORLD(w);
  const auto before = audit_count(w.org.id);
  auto up = w.write("abc", "go", false, report({{"a.go", {{1, 1}}}}));
  up.audit = audit_event(w.org.id, "coverage.upload");
  must(w.cs->save_coverage(up));
  EXPECT_EQ(audit_count(w.org.id), before + 1);
}

TEST_P(StoreTest, CoverageFailedUploadsAreLoggedWithoutAReport) {
  RT_COVERAGE_WORLD(w);
  CoverageUpload failed{.id = 0, .repository_id = w.repo.id, .commit = "abc", .language = "go",
                        .status = CoverageStatus::failed, .reason = "line numbers must be positive", .files = 0,
                        .covered = 0, .coverable = 0, .bytes = 5, .at = 7};
  auto logged = must(w.cs->record_failed_coverage(failed));
  EXPECT_GT(logged.id, 0);
  auto log = must(w.cs->list_coverage_uploads(w.repo.id, 10));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].status, CoverageStatus::failed);
  EXPECT_EQ(log[0].reason, "line numbers must be positive");
  EXPECT_TRUE(must(w.cs->get_commit_coverage(w.repo.id, "abc")).empty());
}

TEST_P(StoreTest, CoverageLogIsNewestFirstLimitedAndPerRepository) {
  RT_COVERAGE_WORLD(w);
  auto other = add_repo(w.org.id, "web");
  for (int i = 0; i < 5; ++i) must(w.cs->save_coverage(w.write("c" + std::to_string(i), "go", false, report({}), i)));
  auto log = must(w.cs->list_coverage_uploads(w.repo.id, 3));
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].commit, "c4");
  EXPECT_EQ(log[2].commit, "c2");
  EXPECT_TRUE(must(w.cs->list_coverage_uploads(other.id, 10)).empty());
  EXPECT_FALSE(w.cs->list_coverage_uploads(w.repo.id, 0).ok());
}

// Pages of the log: keyset by id, `total` over every page, refused uploads left out on request.
TEST_P(StoreTest, CoverageLogPagesCountAndLeaveOutRefusedUploads) {
  RT_COVERAGE_WORLD(w);
  for (int i = 0; i < 3; ++i) must(w.cs->save_coverage(w.write("c" + std::to_string(i), "go", false, report({}), i)));
  CoverageUpload failed{.id = 0, .repository_id = w.repo.id, .commit = "bad", .language = "go",
                        .status = CoverageStatus::failed, .reason = "no", .files = 0, .covered = 0, .coverable = 0,
                        .bytes = 1, .at = 9};
  must(w.cs->record_failed_coverage(failed));
  CoverageUploadQuery q{.repository_id = w.repo.id, .accepted_only = false, .before_id = std::nullopt, .limit = 3};
  auto first = must(w.cs->query_coverage_uploads(q));
  ASSERT_EQ(first.items.size(), 3u);
  EXPECT_EQ(first.total, 4);
  EXPECT_TRUE(first.more);
  EXPECT_EQ(first.items[0].commit, "bad");
  q.before_id = first.items.back().id;
  auto second = must(w.cs->query_coverage_uploads(q));
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].commit, "c0");
  EXPECT_FALSE(second.more);
  EXPECT_EQ(second.total, 4);
  auto accepted = must(w.cs->query_coverage_uploads({.repository_id = w.repo.id, .accepted_only = true,
                                                     .before_id = std::nullopt, .limit = 10}));
  EXPECT_EQ(accepted.items.size(), 3u);
  EXPECT_EQ(accepted.total, 3);
  EXPECT_EQ(accepted.items[0].commit, "c2");
}

TEST_P(StoreTest, CoverageLatestFinalCommitAndReportIdentity) {
  RT_COVERAGE_WORLD(w);
  EXPECT_EQ(must(w.cs->latest_final_commit(w.repo.id)), std::nullopt);
  must(w.cs->save_coverage(w.write("old", "go", false, report({{"a.c", {{1, 1}}}}), 10)));
  must(w.cs->save_coverage(w.write("wip", "go", true, report({{"a.c", {{1, 1}}}}), 20)));
  EXPECT_EQ(must(w.cs->latest_final_commit(w.repo.id)), std::optional<std::string>("old")) << "partial is not final";
  must(w.cs->finalize_coverage(w.repo.id, "wip", 30, std::nullopt));
  EXPECT_EQ(must(w.cs->latest_final_commit(w.repo.id)), std::optional<std::string>("wip"));
  must(w.cs->save_coverage(w.write("old", "java", false, report({}), 40)));
  EXPECT_EQ(must(w.cs->latest_final_commit(w.repo.id)), std::optional<std::string>("old"));
  auto reports = must(w.cs->get_commit_coverage(w.repo.id, "old"));
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].language, "go");
  EXPECT_EQ(reports[0].created_at, 10);
  EXPECT_EQ(reports[1].created_at, 40);
  EXPECT_LT(reports[0].id, reports[1].id);
}

// The log keeps the newest kCoverageLogKept entries of each repository, however many uploads to other
// repositories came in between.
TEST_P(StoreTest, CoverageLogKeepsTheNewestEntriesOfEachRepository) {
  RT_COVERAGE_WORLD(w);
  auto busy = add_repo(w.org.id, "web");
  auto failed = [&](Id repository_id, std::string commit) {
    return CoverageUpload{.id = 0, .repository_id = repository_id, .commit = std::move(commit), .language = "go",
                          .status = CoverageStatus::failed, .reason = "bad", .files = 0, .covered = 0,
                          .coverable = 0, .bytes = 1, .at = 1};
  };
  must(w.cs->record_failed_coverage(failed(w.repo.id, "first")));
  // kCoverageLogKept entries on the busy repository, from a few threads to keep the test quick.
  constexpr int kThreads = 4;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int n = t; n < kCoverageLogKept; n += kThreads)
        if (!w.cs->record_failed_coverage(failed(busy.id, "b" + std::to_string(n))).ok()) ++errors;
    });
  for (auto& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);
  must(w.cs->record_failed_coverage(failed(w.repo.id, "second")));
  must(w.cs->record_failed_coverage(failed(busy.id, "newest")));

  auto quiet = must(w.cs->list_coverage_uploads(w.repo.id, 10));
  ASSERT_EQ(quiet.size(), 2u);  // nothing of its own was beyond the limit
  EXPECT_EQ(quiet[1].commit, "first");
  auto log = must(w.cs->list_coverage_uploads(busy.id, kCoverageLogKept + 1));
  EXPECT_EQ(log.size(), static_cast<size_t>(kCoverageLogKept));  // one over: the oldest went
  EXPECT_EQ(log.front().commit, "newest");
}

TEST_P(StoreTest, CoverageUnknownRepositoryIsNotFoundAndDeletionTakesTheReports) {
  RT_COVERAGE_WORLD(w);
  auto up = w.write("abc", "go", false, report({{"a.go", {{1, 1}}}}));
  up.repository_id = w.repo.id + 1000;
  for (bool partial : {false, true}) {
    up.partial = partial;
    auto r = w.cs->save_coverage(up);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::not_found);
    EXPECT_EQ(r.error().message, "no repository with id " + std::to_string(up.repository_id));
  }
  auto failed = w.cs->record_failed_coverage(CoverageUpload{.repository_id = up.repository_id, .commit = "abc"});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::not_found);
  must(w.cs->save_coverage(w.write("abc", "go", false, report({{"a.go", {{1, 1}}}}))));
  ASSERT_TRUE(store().delete_repository(w.repo.id, audit_event(w.org.id, "repository.delete")).ok());
  EXPECT_TRUE(must(w.cs->get_commit_coverage(w.repo.id, "abc")).empty());
  EXPECT_TRUE(must(w.cs->list_coverage_uploads(w.repo.id, 10)).empty());
}

TEST_P(StoreTest, CoverageReportsSurviveReopening) {
  RT_COVERAGE_WORLD(w);
  must(w.cs->save_coverage(w.write("abc", "go", false, report({{"a.go", {{1, 1}, {4, 0}}}}))));
  reopen();
  w.cs = &store().coverage();
  auto reports = must(w.cs->get_commit_coverage(w.repo.id, "abc"));
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(must(decode_coverage(reports[0].data))[0].lines, (std::vector<LineHits>{{1, 1}, {4, 0}}));
}

}  // namespace

}  // namespace rt::testing
