// The provisioning journal (--state FILE): an append-only file of JSON lines (opened O_APPEND), each made
// durable (written and fdatasync'ed, with group commit across workers) before the step it records is acted
// on or reported. It is what makes `provision` safe to interrupt and re-run:
//   intent    written BEFORE a create call: the token name about to be created and the ids of the tokens
//             the repository had just before, so that a token which appeared since can be recognised even
//             on a server that keeps no names (Codacy). An intent with no outcome after a crash means
//             "maybe created": the re-run looks for such a token and adopts it or revokes it.
//   created   the server's reply: token id, name and, while it is in flight, the secret.
//   executed  --exec ran successfully for that token.
//   delivered every chosen delivery of that token is durable (output file fsynced and renamed, --exec
//             exited 0): from then on the journal keeps the token's id and name, never its secret.
//   abandoned an intent resolved without a token (refused, or found orphaned and revoked).
//   retire / revoked   rotate's old tokens, and when they may go (--overlap); revoked also for a token the
//             server no longer has. A revoked token's secret is erased from the file at once.
//   job / complete / done   a job's identity and progress, so a re-run of an unfinished job resumes it.
// Secrets leave the file by compaction: the file is rewritten (temporary file beside it, fsync, rename,
// fsync of the folder) as a snapshot of what is still needed, without the secrets of delivered or revoked
// tokens. A crash at any point leaves either the old or the new file, both complete. A completed job's
// journal holds no secret.
// A record is whole or ignored: a torn last line (kill -9 mid-write) is ignored and cut off before the next
// append; a damaged line anywhere else is an error (the file was edited or the disk is failing).
// The journal does not lock itself: provision holds a FileLock on "<journal>.lock" for the whole run.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/repo_key.h"
#include "core/result.h"
#include "core/time.h"

namespace rt::cli {

struct JournalRecord;  // one parsed line (journal.cc)

struct JournaledToken {
  RepoKey repo;
  std::string job;
  std::int64_t id = 0;
  std::string name;
  std::string secret;  // "" once delivered or revoked (and for old tokens this journal never created)
  std::optional<UnixTime> expires_at;
  UnixTime created_at = 0;
  bool made_here = false;   // created by a job of this journal (false: only an old token to retire)
  bool executed = false;    // --exec succeeded
  bool delivered = false;   // every delivery is durable; the secret is gone
  bool revoked = false;
  std::optional<UnixTime> retire_after;  // rotate: revoke once this time has come
};

struct PendingIntent {
  std::string job;
  std::string name;                 // the name asked for (a server may ignore it)
  std::vector<std::int64_t> before; // ids of the repository's tokens just before the create
  UnixTime at = 0;
};

struct JournalJob {
  std::string id;
  std::string mode;
  std::string name;
  bool done = false;
};

class Journal {
 public:
  // Loads the journal at `path`; a missing file is an empty journal. Nothing is created until the first
  // append (then the file with mode 0600 and, when missing, its folder with mode 0700), so a dry run or a
  // declined prompt leaves no trace. Errors name the file; a damaged line other than a torn last one is
  // an error that says what to do.
  static Result<std::unique_ptr<Journal>> open(const std::string& path);
  ~Journal();

  const std::string& path() const { return path_; }

  // The last job, when it is unfinished and has this mode and name (the one a re-run should resume).
  std::optional<JournalJob> unfinished_job(const std::string& mode, const std::string& name) const;
  Result<JournalJob> begin_job(const std::string& mode, const std::string& name);
  Status finish_job(const std::string& job);

  // Appends; each returns once the record is on disk (or with the write error).
  Status intent(const std::string& job, const RepoKey& repo, const std::string& token_name,
                const std::vector<std::int64_t>& before, UnixTime at);
  Status abandoned(const RepoKey& repo, const std::string& token_name, std::optional<std::int64_t> revoked_id);
  Status created(const JournaledToken& token);
  Status executed(const RepoKey& repo, std::int64_t id);
  // Every delivery of these tokens is durable: their secrets are dropped (from the file at the next
  // compact()).
  Status delivered(const std::vector<std::pair<RepoKey, std::int64_t>>& tokens);
  Status retire(const RepoKey& repo, std::int64_t id, UnixTime after);
  // The token is revoked (or the server no longer has it). When the file held its secret, the journal is
  // compacted before this returns, so the secret is erased at once.
  Status revoked(const RepoKey& repo, std::int64_t id);
  Status complete(const std::string& job, const RepoKey& repo);

  // Rewrites the file as a snapshot without any secret of a delivered or revoked token (atomically; see
  // the top of this file). A no-op when nothing was ever written.
  Status compact();
  // True when the file holds the secret of some token (one not yet delivered).
  bool holds_secrets() const;

  // Queries (thread-safe snapshots).
  std::vector<PendingIntent> pending_intents(const RepoKey& repo) const;
  std::vector<JournaledToken> tokens(const RepoKey& repo) const;  // in creation order
  bool completed(const std::string& job, const RepoKey& repo) const;
  // Pending intents, secrets not yet delivered, retirements not yet done.
  std::set<RepoKey> repos_needing_attention() const;

 private:
  explicit Journal(std::string path) : path_(std::move(path)) {}
  Status load(const std::string& text);
  void apply_locked(const JournalRecord& record);
  Status append(const std::vector<std::string>& lines);
  Status open_for_append_locked();
  std::vector<std::string> snapshot_locked() const;
  JournaledToken* find_locked(const RepoKey& repo, std::int64_t id);

  std::string path_;
  int fd_ = -1;
  std::size_t torn_tail_keep_ = std::string::npos;  // length to cut the file to before the first append
  bool exists_ = false;
  mutable std::mutex mu_;
  std::condition_variable durable_cv_;
  std::string pending_;
  std::uint64_t appended_ = 0, durable_ = 0;
  bool writing_ = false;
  std::optional<Error> write_error_;

  std::vector<JournalJob> jobs_;
  std::map<RepoKey, std::vector<PendingIntent>> intents_;
  std::map<RepoKey, std::vector<JournaledToken>> tokens_;
  std::set<std::pair<std::string, RepoKey>> completed_;
};

// ${XDG_STATE_HOME:-~/.local/state}/repotokens/<host>-<provider>-<org>.journal
std::string default_state_path(const std::string& api_url, const std::string& provider, const std::string& org);

// 12 random characters [a-z0-9]: job ids and token-name suffixes (not secrets, just unique).
std::string random_suffix();

}  // namespace rt::cli
