// The journal's file handling (lazy creation, torn-tail repair, O_APPEND group-committed appends, atomic
// compaction) and its in-memory view.
#include "cli/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

namespace rt::cli {

struct JournalRecord {
  nlohmann::json j;
};

namespace {

using json = nlohmann::json;

Error io_error(const std::string& what, const std::string& path) {
  return make_error(ErrorKind::internal, "--state: cannot " + what + " " + path + ": " + std::strerror(errno));
}

void put_repo(json& r, const RepoKey& k) {
  r["p"] = k.provider;
  r["o"] = k.org;
  r["r"] = k.name;
}

// Records name their repository with "p", "o", "r"; journals of earlier versions used "repo":
// "provider/org/name" (names without a slash then), still read.
RepoKey repo_of(const json& r) {
  if (r.contains("p")) return {r.value("p", ""), r.value("o", ""), r.value("r", "")};
  std::string s = r.value("repo", "");
  auto a = s.find('/'), b = a == std::string::npos ? a : s.find('/', a + 1);
  if (b == std::string::npos) return {"", "", s};
  return {s.substr(0, a), s.substr(a + 1, b - a - 1), s.substr(b + 1)};
}

Status write_all(int fd, const std::string& data, const std::string& path) {
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("write", path);
    off += static_cast<size_t>(n);
  }
  return ok_status();
}

}  // namespace

std::string random_suffix() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 random(std::random_device{}());
  std::string s(12, 'a');
  for (auto& c : s) c = kAlphabet[std::uniform_int_distribution<int>(0, 35)(random)];
  return s;
}

std::string default_state_path(const std::string& api_url, const std::string& provider, const std::string& org) {
  std::string base;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) base = x;
  else if (const char* h = std::getenv("HOME"); h && *h) base = std::string(h) + "/.local/state";
  else base = ".repotokens-state";
  std::string host = api_url.substr(api_url.find("://") == std::string::npos ? 0 : api_url.find("://") + 3);
  std::string safe;
  for (char c : host + "-" + provider + "-" + org)
    safe += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  return base + "/repotokens/" + safe + ".journal";
}

Result<std::unique_ptr<Journal>> Journal::open(const std::string& path) {
  std::unique_ptr<Journal> journal(new Journal(path));
  ::unlink((path + ".compact").c_str());  // a compaction cut short: the journal itself is still whole
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return journal;
  if (fd < 0) return make_error(ErrorKind::invalid, "--state: cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorKind::invalid, "--state: " + path + " is not a regular file");
  }
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      ::close(fd);
      return io_error("read", path);
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  journal->exists_ = true;
  // A torn last line (a write cut short by kill -9) is ignored now and cut off before the next append.
  if (!text.empty() && text.back() != '\n') {
    size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    journal->torn_tail_keep_ = keep;
    text.resize(keep);
  }
  RT_TRY_STATUS(journal->load(text));
  return journal;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Journal::load(const std::string& text) {
  std::lock_guard lock(mu_);
  size_t start = 0;
  for (int number = 1; start < text.size(); ++number) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    JournalRecord r{json::parse(line, nullptr, false)};
    auto damaged = [&] {
      return make_error(ErrorKind::invalid, "--state: " + path_ + " is damaged at line " + std::to_string(number) +
                                                " (not a journal record); if no other run is using it, move it "
                                                "away and re-run: the output file keeps the delivered secrets");
    };
    if (!r.j.is_object()) return damaged();
    // A field of the wrong type (nlohmann's value() throws on one) is damage too, found by fuzzing.
    try {
      apply_locked(r);
    } catch (const json::exception&) {
      return damaged();
    }
  }
  return ok_status();
}

JournaledToken* Journal::find_locked(const RepoKey& repo, std::int64_t id) {
  auto it = tokens_.find(repo);
  if (it == tokens_.end()) return nullptr;
  for (auto& tok : it->second)
    if (tok.id == id) return &tok;
  return nullptr;
}

namespace {
// An integer field, or 0. nlohmann's value<long>() casts a float like 1.8e83 to long, which is undefined
// behaviour (found by fuzzing a damaged journal), so only integers are read as integers.
std::int64_t integer_field(const json& r, const char* key) {
  auto it = r.find(key);
  return it != r.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}
}  // namespace

void Journal::apply_locked(const JournalRecord& record) {
  const json& r = record.j;
  const std::string t = r.value("t", "");
  const RepoKey repo = repo_of(r);
  const std::int64_t id = integer_field(r, "id");
  if (t == "job") {
    jobs_.push_back({r.value("job", ""), r.value("mode", ""), r.value("name", ""), false});
  } else if (t == "done") {
    for (auto& j : jobs_)
      if (j.id == r.value("job", "")) j.done = true;
  } else if (t == "intent") {
    PendingIntent intent{r.value("job", ""), r.value("token", ""), {}, integer_field(r, "at")};
    if (r.contains("before") && r["before"].is_array())
      for (const auto& b : r["before"])
        if (b.is_number_integer()) intent.before.push_back(b.get<std::int64_t>());
    intents_[repo].push_back(std::move(intent));
  } else if (t == "abandoned" || t == "created") {
    auto& pending = intents_[repo];
    std::erase_if(pending, [&](const PendingIntent& p) { return p.name == r.value("token", ""); });
    if (pending.empty()) intents_.erase(repo);
    if (t == "created") {
      JournaledToken tok{repo, r.value("job", ""), id, r.value("token", ""), r.value("secret", ""), std::nullopt,
                         integer_field(r, "at"), true};
      if (r.contains("expires") && r["expires"].is_number_integer()) tok.expires_at = integer_field(r, "expires");
      tok.executed = r.value("executed", false);
      tok.delivered = r.value("delivered", false);
      if (tok.delivered) tok.secret.clear();
      if (JournaledToken* known = find_locked(repo, id)) *known = std::move(tok);
      else tokens_[repo].push_back(std::move(tok));
    }
  } else if (t == "executed") {
    if (auto* tok = find_locked(repo, id)) tok->executed = true;
  } else if (t == "delivered") {
    if (auto* tok = find_locked(repo, id)) {
      tok->delivered = true;
      tok->secret.clear();
    }
  } else if (t == "retire") {
    if (!find_locked(repo, id)) tokens_[repo].push_back(JournaledToken{repo, "", id});
    find_locked(repo, id)->retire_after = integer_field(r, "after");
  } else if (t == "revoked") {
    if (auto* tok = find_locked(repo, id)) {
      tok->revoked = true;
      tok->secret.clear();
    }
  } else if (t == "complete") {
    completed_.insert({r.value("job", ""), repo});
  }
}

Status Journal::open_for_append_locked() {
  if (fd_ >= 0) return ok_status();
  std::filesystem::path p(path_);
  if (p.has_parent_path() && !std::filesystem::exists(p.parent_path())) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return make_error(ErrorKind::invalid, "--state: cannot create " + p.parent_path().string() + ": " + ec.message());
    ::chmod(p.parent_path().c_str(), 0700);
  }
  if (torn_tail_keep_ != std::string::npos) {
    if (::truncate(path_.c_str(), static_cast<off_t>(torn_tail_keep_)) != 0) return io_error("repair", path_);
    torn_tail_keep_ = std::string::npos;
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return make_error(ErrorKind::invalid, "--state: cannot open " + path_ + ": " + std::strerror(errno));
  ::fchmod(fd_, 0600);
  exists_ = true;
  return ok_status();
}

// Group commit: the first waiter writes everything pending with one write + fdatasync; the others wait.
// O_APPEND makes each write land at the end even if the file was cut or replaced by compaction meanwhile.
Status Journal::append(const std::vector<std::string>& lines) {
  std::unique_lock lock(mu_);
  if (write_error_) return *write_error_;
  for (const auto& line : lines) {
    apply_locked(JournalRecord{json::parse(line)});
    pending_ += line;
    pending_ += '\n';
  }
  const std::uint64_t mine = ++appended_;
  while (durable_ < mine && !write_error_) {
    if (writing_) {
      durable_cv_.wait(lock);
      continue;
    }
    if (auto s = open_for_append_locked(); !s.ok()) {
      write_error_ = s.error();
      break;
    }
    writing_ = true;
    std::string batch;
    batch.swap(pending_);
    const std::uint64_t upto = appended_;
    const int fd = fd_;
    lock.unlock();
    Status written = write_all(fd, batch, path_);
    if (written.ok() && ::fdatasync(fd) != 0) written = io_error("sync", path_);
    lock.lock();
    writing_ = false;
    if (!written.ok()) write_error_ = written.error();
    else durable_ = upto;
    durable_cv_.notify_all();
  }
  if (write_error_) return *write_error_;
  return ok_status();
}

std::vector<std::string> Journal::snapshot_locked() const {
  std::vector<std::string> lines;
  std::optional<JournalJob> job = jobs_.empty() ? std::nullopt : std::optional(jobs_.back());
  if (job) {
    lines.push_back(json{{"t", "job"}, {"job", job->id}, {"mode", job->mode}, {"name", job->name}}.dump());
    if (job->done) lines.push_back(json{{"t", "done"}, {"job", job->id}}.dump());
    else
      for (const auto& [j, repo] : completed_)
        if (j == job->id) {
          json r{{"t", "complete"}, {"job", j}};
          put_repo(r, repo);
          lines.push_back(r.dump());
        }
  }
  for (const auto& [repo, list] : intents_)
    for (const auto& intent : list) {
      json r{{"t", "intent"}, {"job", intent.job}, {"token", intent.name}, {"before", intent.before}, {"at", intent.at}};
      put_repo(r, repo);
      lines.push_back(r.dump());
    }
  for (const auto& [repo, list] : tokens_)
    for (const auto& tok : list) {
      if (tok.revoked) continue;  // nothing left to know about it
      if (tok.made_here) {
        json r{{"t", "created"}, {"job", tok.job}, {"token", tok.name}, {"id", tok.id}, {"at", tok.created_at}};
        put_repo(r, repo);
        if (!tok.delivered && !tok.secret.empty()) r["secret"] = tok.secret;
        if (tok.expires_at) r["expires"] = *tok.expires_at;
        if (tok.executed) r["executed"] = true;
        if (tok.delivered) r["delivered"] = true;
        lines.push_back(r.dump());
      }
      if (tok.retire_after) {
        json r{{"t", "retire"}, {"id", tok.id}, {"after", *tok.retire_after}};
        put_repo(r, repo);
        lines.push_back(r.dump());
      }
    }
  return lines;
}

Status Journal::compact() {
  std::unique_lock lock(mu_);
  while (writing_) durable_cv_.wait(lock);
  if (write_error_) return *write_error_;
  if (!exists_) return ok_status();
  writing_ = true;  // keeps appenders out; what they add meanwhile is written after the swap
  std::string text;
  for (const auto& line : snapshot_locked()) text += line + "\n";
  pending_.clear();  // everything pending is part of the snapshot
  const std::uint64_t upto = appended_;
  lock.unlock();
  const std::string temp = path_ + ".compact";
  Status result = ok_status();
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) result = io_error("create", temp);
  if (result.ok()) result = write_all(fd, text, temp);
  if (result.ok() && ::fsync(fd) != 0) result = io_error("sync", temp);
  if (fd >= 0) ::close(fd);
  if (result.ok() && ::rename(temp.c_str(), path_.c_str()) != 0) result = io_error("replace", path_);
  if (!result.ok()) ::unlink(temp.c_str());
  if (result.ok()) {
    std::filesystem::path dir = std::filesystem::path(path_).has_parent_path() ? std::filesystem::path(path_).parent_path()
                                                                               : std::filesystem::path(".");
    if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  lock.lock();
  if (result.ok()) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    torn_tail_keep_ = std::string::npos;
    durable_ = std::max(durable_, upto);
  } else {
    write_error_ = result.error();
  }
  writing_ = false;
  durable_cv_.notify_all();
  return result;
}

bool Journal::holds_secrets() const {
  std::lock_guard lock(mu_);
  for (const auto& [repo, list] : tokens_)
    for (const auto& tok : list)
      if (!tok.secret.empty()) return true;
  return false;
}

std::optional<JournalJob> Journal::unfinished_job(const std::string& mode, const std::string& name) const {
  std::lock_guard lock(mu_);
  if (jobs_.empty() || jobs_.back().done || jobs_.back().mode != mode || jobs_.back().name != name) return std::nullopt;
  return jobs_.back();
}

Result<JournalJob> Journal::begin_job(const std::string& mode, const std::string& name) {
  JournalJob job{random_suffix(), mode, name, false};
  RT_TRY_STATUS(append({json{{"t", "job"}, {"job", job.id}, {"mode", mode}, {"name", name},
                             {"at", SystemClock().now()}}.dump()}));
  return job;
}

Status Journal::finish_job(const std::string& job) { return append({json{{"t", "done"}, {"job", job}}.dump()}); }

Status Journal::intent(const std::string& job, const RepoKey& repo, const std::string& token_name,
                       const std::vector<std::int64_t>& before, UnixTime at) {
  json r{{"t", "intent"}, {"job", job}, {"token", token_name}, {"before", before}, {"at", at}};
  put_repo(r, repo);
  return append({r.dump()});
}

Status Journal::abandoned(const RepoKey& repo, const std::string& token_name, std::optional<std::int64_t> revoked_id) {
  json r{{"t", "abandoned"}, {"token", token_name}};
  put_repo(r, repo);
  if (revoked_id) r["revoked"] = *revoked_id;
  return append({r.dump()});
}

Status Journal::created(const JournaledToken& tok) {
  json r{{"t", "created"}, {"job", tok.job}, {"token", tok.name}, {"id", tok.id}, {"secret", tok.secret},
         {"at", tok.created_at}};
  put_repo(r, tok.repo);
  if (tok.expires_at) r["expires"] = *tok.expires_at;
  return append({r.dump()});
}

Status Journal::executed(const RepoKey& repo, std::int64_t id) {
  json r{{"t", "executed"}, {"id", id}};
  put_repo(r, repo);
  return append({r.dump()});
}

Status Journal::delivered(const std::vector<std::pair<RepoKey, std::int64_t>>& tokens) {
  if (tokens.empty()) return ok_status();
  std::vector<std::string> lines;
  for (const auto& [repo, id] : tokens) {
    json r{{"t", "delivered"}, {"id", id}};
    put_repo(r, repo);
    lines.push_back(r.dump());
  }
  return append(lines);
}

Status Journal::retire(const RepoKey& repo, std::int64_t id, UnixTime after) {
  json r{{"t", "retire"}, {"id", id}, {"after", after}};
  put_repo(r, repo);
  return append({r.dump()});
}

Status Journal::revoked(const RepoKey& repo, std::int64_t id) {
  bool secret_on_disk = false;
  {
    std::lock_guard lock(mu_);
    if (auto* tok = find_locked(repo, id)) secret_on_disk = !tok->secret.empty();
  }
  json r{{"t", "revoked"}, {"id", id}};
  put_repo(r, repo);
  RT_TRY_STATUS(append({r.dump()}));
  return secret_on_disk ? compact() : ok_status();
}

Status Journal::complete(const std::string& job, const RepoKey& repo) {
  json r{{"t", "complete"}, {"job", job}};
  put_repo(r, repo);
  return append({r.dump()});
}

std::vector<PendingIntent> Journal::pending_intents(const RepoKey& repo) const {
  std::lock_guard lock(mu_);
  auto it = intents_.find(repo);
  return it == intents_.end() ? std::vector<PendingIntent>{} : it->second;
}

std::vector<JournaledToken> Journal::tokens(const RepoKey& repo) const {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(repo);
  return it == tokens_.end() ? std::vector<JournaledToken>{} : it->second;
}

bool Journal::completed(const std::string& job, const RepoKey& repo) const {
  std::lock_guard lock(mu_);
  return completed_.count({job, repo}) > 0;
}

std::set<RepoKey> Journal::repos_needing_attention() const {
  std::lock_guard lock(mu_);
  std::set<RepoKey> repos;
  for (const auto& [repo, list] : intents_)
    if (!list.empty()) repos.insert(repo);
  for (const auto& [repo, list] : tokens_)
    for (const auto& t : list)
      if (!t.revoked && (t.retire_after || !t.secret.empty())) repos.insert(repo);
  return repos;
}

}  // namespace rt::cli
