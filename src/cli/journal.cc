// The journal's file handling (open, torn-tail repair, group-committed appends) and its in-memory view.
#include "cli/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

namespace rt::cli {
namespace {

using json = nlohmann::json;

Error io_error(const std::string& what, const std::string& path) {
  return make_error(ErrorKind::internal, what + " " + path + ": " + std::strerror(errno));
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
  std::filesystem::path p(path);
  if (p.has_parent_path() && !std::filesystem::exists(p.parent_path())) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return make_error(ErrorKind::invalid, "--state: cannot create " + p.parent_path().string() + ": " + ec.message());
    ::chmod(p.parent_path().c_str(), 0700);
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(ErrorKind::invalid, "--state: cannot open " + path + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  std::unique_ptr<Journal> journal(new Journal(path, fd));
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) return io_error("cannot read", path);
    text.append(buf, static_cast<size_t>(n));
  }
  // Cut a torn last line (a write cut short by kill -9) so the next record starts on a fresh line.
  size_t keep = text.empty() || text.back() == '\n' ? text.size() : text.rfind('\n') + 1;
  if (text.rfind('\n') == std::string::npos && !text.empty() && text.back() != '\n') keep = 0;
  if (keep != text.size()) {
    if (::ftruncate(fd, static_cast<off_t>(keep)) != 0) return io_error("cannot repair", path);
    text.resize(keep);
  }
  if (::lseek(fd, 0, SEEK_END) < 0) return io_error("cannot seek", path);
  RT_TRY_STATUS(journal->load(text));
  return journal;
}

Journal::Journal(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
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
    if (json::parse(line, nullptr, false).is_discarded())
      return make_error(ErrorKind::invalid, "--state: " + path_ + " is damaged at line " + std::to_string(number) +
                                                "; move it away to start afresh");
    apply_locked(line);
  }
  return ok_status();
}

void Journal::apply_locked(const std::string& line) {
  json r = json::parse(line, nullptr, false);
  if (!r.is_object()) return;
  const std::string t = r.value("t", ""), repo = r.value("repo", "");
  auto find_token = [&](std::int64_t id) -> JournaledToken* {
    for (auto& tok : tokens_[repo])
      if (tok.id == id) return &tok;
    return nullptr;
  };
  if (t == "job") {
    jobs_.push_back({r.value("job", ""), r.value("mode", ""), r.value("name", ""), false});
  } else if (t == "done") {
    for (auto& j : jobs_)
      if (j.id == r.value("job", "")) j.done = true;
  } else if (t == "intent") {
    intents_[repo].push_back(r.value("token", ""));
  } else if (t == "abandoned" || t == "created") {
    auto& pending = intents_[repo];
    std::erase(pending, r.value("token", ""));
    if (pending.empty()) intents_.erase(repo);
    if (t == "created") {
      JournaledToken tok{repo, r.value("job", ""), r.value("id", std::int64_t{0}), r.value("token", ""),
                         r.value("secret", ""), std::nullopt, r.value("at", UnixTime{0})};
      if (r.contains("expires") && r["expires"].is_number_integer()) tok.expires_at = r["expires"].get<UnixTime>();
      tokens_[repo].push_back(std::move(tok));
    }
  } else if (t == "delivered") {
    if (auto* tok = find_token(r.value("id", std::int64_t{0}))) tok->delivered = true;
  } else if (t == "retire") {
    std::int64_t id = r.value("id", std::int64_t{0});
    if (!find_token(id)) tokens_[repo].push_back(JournaledToken{repo, "", id, "", "", std::nullopt, 0, true});
    find_token(id)->retire_after = r.value("after", UnixTime{0});
  } else if (t == "revoked") {
    if (auto* tok = find_token(r.value("id", std::int64_t{0}))) tok->revoked = true;
  } else if (t == "complete") {
    completed_.insert({r.value("job", ""), repo});
  }
}

// Group commit: the first waiter writes everything pending with one write + fdatasync; the others wait.
Status Journal::append(std::string line) {
  std::unique_lock lock(mu_);
  if (write_error_) return *write_error_;
  apply_locked(line);
  pending_ += line;
  pending_ += '\n';
  const std::uint64_t mine = ++appended_;
  while (durable_ < mine && !write_error_) {
    if (writing_) {
      durable_cv_.wait(lock);
      continue;
    }
    writing_ = true;
    std::string batch;
    batch.swap(pending_);
    const std::uint64_t upto = appended_;
    lock.unlock();
    std::optional<Error> failure;
    for (size_t off = 0; off < batch.size() && !failure;) {
      ssize_t n = ::write(fd_, batch.data() + off, batch.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) failure = io_error("cannot write", path_);
      else off += static_cast<size_t>(n);
    }
    if (!failure && ::fdatasync(fd_) != 0) failure = io_error("cannot sync", path_);
    lock.lock();
    writing_ = false;
    if (failure) write_error_ = failure;
    else durable_ = upto;
    durable_cv_.notify_all();
  }
  if (write_error_) return *write_error_;
  return ok_status();
}

std::optional<JournalJob> Journal::unfinished_job(const std::string& mode, const std::string& name) const {
  std::lock_guard lock(mu_);
  if (jobs_.empty() || jobs_.back().done || jobs_.back().mode != mode || jobs_.back().name != name) return std::nullopt;
  return jobs_.back();
}

Result<JournalJob> Journal::begin_job(const std::string& mode, const std::string& name) {
  JournalJob job{random_suffix(), mode, name, false};
  RT_TRY_STATUS(append(json{{"t", "job"}, {"job", job.id}, {"mode", mode}, {"name", name},
                            {"at", SystemClock().now()}}.dump()));
  return job;
}

Status Journal::finish_job(const std::string& job) { return append(json{{"t", "done"}, {"job", job}}.dump()); }

Status Journal::intent(const std::string& job, const std::string& repo, const std::string& token_name) {
  return append(json{{"t", "intent"}, {"job", job}, {"repo", repo}, {"token", token_name}}.dump());
}

Status Journal::abandoned(const std::string& repo, const std::string& token_name, std::optional<std::int64_t> revoked_id) {
  json r{{"t", "abandoned"}, {"repo", repo}, {"token", token_name}};
  if (revoked_id) r["revoked"] = *revoked_id;
  return append(r.dump());
}

Status Journal::created(const JournaledToken& tok) {
  json r{{"t", "created"}, {"job", tok.job}, {"repo", tok.repo}, {"token", tok.name}, {"id", tok.id},
         {"secret", tok.secret}, {"at", tok.created_at}};
  if (tok.expires_at) r["expires"] = *tok.expires_at;
  return append(r.dump());
}

Status Journal::delivered(const std::string& repo, std::int64_t id) {
  return append(json{{"t", "delivered"}, {"repo", repo}, {"id", id}}.dump());
}

Status Journal::retire(const std::string& repo, std::int64_t id, UnixTime after) {
  return append(json{{"t", "retire"}, {"repo", repo}, {"id", id}, {"after", after}}.dump());
}

Status Journal::revoked(const std::string& repo, std::int64_t id) {
  return append(json{{"t", "revoked"}, {"repo", repo}, {"id", id}}.dump());
}

Status Journal::complete(const std::string& job, const std::string& repo) {
  return append(json{{"t", "complete"}, {"job", job}, {"repo", repo}}.dump());
}

std::vector<std::string> Journal::pending_intents(const std::string& repo) const {
  std::lock_guard lock(mu_);
  auto it = intents_.find(repo);
  return it == intents_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<JournaledToken> Journal::tokens(const std::string& repo) const {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(repo);
  return it == tokens_.end() ? std::vector<JournaledToken>{} : it->second;
}

bool Journal::completed(const std::string& job, const std::string& repo) const {
  std::lock_guard lock(mu_);
  return completed_.count({job, repo}) > 0;
}

std::set<std::string> Journal::repos_needing_attention() const {
  std::lock_guard lock(mu_);
  std::set<std::string> repos;
  for (const auto& [repo, names] : intents_)
    if (!names.empty()) repos.insert(repo);
  for (const auto& [repo, toks] : tokens_)
    for (const auto& t : toks)
      if (!t.revoked && t.retire_after) repos.insert(repo);
  return repos;
}

}  // namespace rt::cli
