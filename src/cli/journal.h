// The provisioning journal (--state FILE): an append-only file of JSON lines, each made durable (written
// and fdatasync'ed, with group commit across workers) before the step it records is acted on or reported.
// It is what makes `provision` safe to interrupt and re-run:
//   intent    written BEFORE a create call, with the unique token name about to be created. An intent with
//             no outcome after a crash means "maybe created": the re-run looks that exact name up in the
//             repository's token list and revokes it, so no token is orphaned.
//   created   the server's reply: token id, name and secret (the file is mode 0600, like the output), so
//             a secret the server created is never lost and can be delivered again.
//   delivered --exec ran successfully for that token.
//   abandoned an intent resolved without a token (refused, or found orphaned and revoked).
//   retire / revoked   rotate's old tokens, and when they may go (--overlap).
//   job / complete / done   a job's identity and progress, so a re-run of an unfinished job resumes it.
// A torn last line (kill -9 mid-write) is ignored and cut off on the next open.
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

#include "core/result.h"
#include "core/time.h"

namespace rt::cli {

struct JournaledToken {
  std::string repo;  // "provider/org/name"
  std::string job;
  std::int64_t id = 0;
  std::string name;
  std::string secret;
  std::optional<UnixTime> expires_at;
  UnixTime created_at = 0;
  bool delivered = false;  // --exec succeeded
  bool revoked = false;
  std::optional<UnixTime> retire_after;  // rotate: revoke once this time has come
};

struct JournalJob {
  std::string id;
  std::string mode;
  std::string name;
  bool done = false;
};

class Journal {
 public:
  // Opens (creating it, and its folder with mode 0700, when missing) and loads the journal. The file is
  // kept at mode 0600. Errors name the file; a damaged line other than a torn last one is an error.
  static Result<std::unique_ptr<Journal>> open(const std::string& path);
  ~Journal();

  const std::string& path() const { return path_; }

  // The last job, when it is unfinished and has this mode and name (the one a re-run should resume).
  std::optional<JournalJob> unfinished_job(const std::string& mode, const std::string& name) const;
  Result<JournalJob> begin_job(const std::string& mode, const std::string& name);
  Status finish_job(const std::string& job);

  // Appends; each returns once the record is on disk (or with the write error).
  Status intent(const std::string& job, const std::string& repo, const std::string& token_name);
  Status abandoned(const std::string& repo, const std::string& token_name, std::optional<std::int64_t> revoked_id);
  Status created(const JournaledToken& token);
  Status delivered(const std::string& repo, std::int64_t id);
  Status retire(const std::string& repo, std::int64_t id, UnixTime after);
  Status revoked(const std::string& repo, std::int64_t id);
  Status complete(const std::string& job, const std::string& repo);

  // Queries (thread-safe snapshots).
  std::vector<std::string> pending_intents(const std::string& repo) const;  // token names
  std::vector<JournaledToken> tokens(const std::string& repo) const;         // in creation order
  bool completed(const std::string& job, const std::string& repo) const;
  std::set<std::string> repos_needing_attention() const;  // pending intents, undelivered, retirements

 private:
  Journal(std::string path, int fd);
  Status load(const std::string& text);
  void apply_locked(const std::string& line);  // updates the in-memory view from one record
  Status append(std::string line);

  std::string path_;
  int fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable durable_cv_;
  std::string pending_;
  std::uint64_t appended_ = 0, durable_ = 0;
  bool writing_ = false;
  std::optional<Error> write_error_;

  std::vector<JournalJob> jobs_;
  std::map<std::string, std::vector<std::string>> intents_;       // repo -> pending token names
  std::map<std::string, std::vector<JournaledToken>> tokens_;     // repo -> tokens created
  std::set<std::pair<std::string, std::string>> completed_;       // (job, repo)
};

// ${XDG_STATE_HOME:-~/.local/state}/repotokens/<host>-<provider>-<org>.journal
std::string default_state_path(const std::string& api_url, const std::string& provider, const std::string& org);

// 12 random characters [a-z0-9]: job ids and token-name suffixes (not secrets, just unique).
std::string random_suffix();

}  // namespace rt::cli
