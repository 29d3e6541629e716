// The provision engine: selection, plan and confirmation, the per-repository state machine (reconcile the
// journal with the server, then ensure/create/rotate), retirement after --overlap, delivery and summary.
#include "cli/provision.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "cli/journal.h"
#include "cli/progress.h"
#include "cli/worker_pool.h"

namespace rt::cli {
namespace {

using client::ApiClient;
using client::RepositoryTokenInfo;

const char* mode_name(ProvisionMode m) {
  return m == ProvisionMode::ensure ? "ensure" : m == ProvisionMode::create ? "create" : "rotate";
}

struct Outcome {
  enum Kind { pending, created, skipped, rotated, reconciled, failed } kind = pending;
  std::string reason;
  int revoked_old = 0;
  bool secret_not_held = false;            // skipped: a token exists whose secret this journal lacks
  std::optional<JournaledToken> deliverable;
};

struct WorkItem {
  std::string org;
  std::string repo;
  bool selected = true;  // false: only journal reconciliation (a pending intent or retirement)
};

class ProvisionRun {
 public:
  ProvisionRun(const ProvisionOptions& o, const Target& t)
      : o_(o), t_(t), pacer_(o.rate, o.concurrency) {}

  int run();

 private:
  Status select(ApiClient& api);
  bool confirm();
  Outcome process(ApiClient& api, const WorkItem& item);
  Status reconcile(ApiClient& api, const WorkItem& item, const std::string& key,
                   std::vector<RepositoryTokenInfo>& live, const std::vector<RepositoryTokenInfo>& all);
  Result<JournaledToken> create_token(ApiClient& api, const WorkItem& item, const std::string& key);
  Status deliver_exec(const WorkItem& item, const JournaledToken& tok);
  Status revoke(ApiClient& api, const WorkItem& item, const std::string& key, std::int64_t id);
  void retire_due(ApiClient& api);
  int finish(double elapsed);
  std::string key_of(const WorkItem& w) const { return t_.provider + "/" + w.org + "/" + w.repo; }
  DeliveredSecret as_delivered(const WorkItem& w, const JournaledToken& tok) const {
    return {t_.provider, w.org, w.repo, tok.id, tok.name, tok.secret, tok.expires_at};
  }

  const ProvisionOptions& o_;
  const Target& t_;
  client::Pacer pacer_;
  client::ClientStats stats_;
  std::unique_ptr<Journal> journal_;
  JournalJob job_;
  bool resumed_ = false;
  std::size_t selected_count_ = 0;
  std::vector<WorkItem> items_;
  std::vector<Outcome> outcomes_;
  std::unique_ptr<Progress> progress_;
};

void say(bool quiet, const std::string& line) {
  if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace

bool in_token_family(const std::string& name, const std::string& base) {
  if (name == base) return true;
  if (name.size() != base.size() + kTokenSuffixLength || !name.starts_with(base) || name[base.size()] != '-') return false;
  for (std::size_t i = base.size() + 1; i < name.size(); ++i)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9'))) return false;
  return true;
}

namespace {

Status ProvisionRun::select(ApiClient& api) {
  std::set<std::string> listed_found;
  RT_TRY_STATUS(api.for_each_repository(t_.provider, t_.org, "", [&](const client::RepositorySummary& r) {
    if (r.name.empty()) return;
    if (o_.selection.listed && o_.selection.listed->count(r.name)) listed_found.insert(r.name);
    if (o_.selection.selects(r.name)) items_.push_back({t_.org, r.name, true});
  }));
  selected_count_ = items_.size();
  if (o_.selection.listed && listed_found.size() < o_.selection.listed->size()) {  // every listed name must exist
    std::vector<std::string> missing;
    for (const auto& name : *o_.selection.listed)
      if (!listed_found.count(name)) missing.push_back(name);
    std::sort(missing.begin(), missing.end());
    std::string text;
    for (std::size_t k = 0; k < missing.size() && k < 5; ++k) text += (k ? ", " : "") + missing[k];
    return make_error(ErrorKind::not_found, "--repos-file names " + std::to_string(missing.size()) +
                                                " repositories that " + t_.provider + "/" + t_.org +
                                                " does not have (or this token cannot see): " + text +
                                                (missing.size() > 5 ? ", ..." : ""));
  }
  return ok_status();
}

bool ProvisionRun::confirm() {
  const char* verb = o_.mode == ProvisionMode::rotate ? "Rotate" : "Create";
  std::fprintf(stderr, "%s repository tokens for %zu repositories in %s/%s? [y/N] ", verb, selected_count_,
               t_.provider.c_str(), t_.org.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes";
}

Status ProvisionRun::revoke(ApiClient& api, const WorkItem& item, const std::string& key, std::int64_t id) {
  RT_TRY_STATUS(api.delete_repository_token(t_.provider, item.org, item.repo, id));
  return journal_->revoked(key, id);
}

Status ProvisionRun::deliver_exec(const WorkItem& item, const JournaledToken& tok) {
  if (o_.exec.empty()) return ok_status();
  RT_TRY_STATUS(run_delivery_command(o_.exec, as_delivered(item, tok), o_.exec_timeout_seconds));
  return journal_->delivered(key_of(item), tok.id);
}

// Brings the journal and the server into agreement for one repository before anything new is done:
// intents without an outcome are looked up by their unique name (found = orphan from a crash: revoked),
// created-but-undelivered tokens are delivered again, and retirements that are due are carried out.
Status ProvisionRun::reconcile(ApiClient& api, const WorkItem& item, const std::string& key,
                               std::vector<RepositoryTokenInfo>& live, const std::vector<RepositoryTokenInfo>& all) {
  for (const auto& name : journal_->pending_intents(key)) {
    std::optional<std::int64_t> orphan;
    for (const auto& t : all)
      if (t.name == name) orphan = t.id;
    if (orphan) {
      RT_TRY_STATUS(api.delete_repository_token(t_.provider, item.org, item.repo, *orphan));
      std::erase_if(live, [&](const RepositoryTokenInfo& t) { return t.id == *orphan; });
    }
    RT_TRY_STATUS(journal_->abandoned(key, name, orphan));
  }
  const UnixTime now = SystemClock().now();
  for (const auto& tok : journal_->tokens(key)) {
    bool is_live = std::any_of(live.begin(), live.end(), [&](const auto& t) { return t.id == tok.id; });
    if (!is_live || tok.revoked) continue;
    if (tok.retire_after && *tok.retire_after <= now) {
      RT_TRY_STATUS(revoke(api, item, key, tok.id));
      std::erase_if(live, [&](const RepositoryTokenInfo& t) { return t.id == tok.id; });
    } else if (!tok.delivered && !tok.secret.empty() && !o_.exec.empty() && item.selected) {
      RT_TRY_STATUS(deliver_exec(item, tok));
    }
  }
  return ok_status();
}

// Journal the intent (durably), create, journal the reply (durably), deliver. When the outcome of the
// create is uncertain (connection lost, gateway timeout, or a name conflict after a retry that may have
// succeeded the first time), the unique name is looked up: a token found under it is revoked and the
// create is tried again under a new name.
Result<JournaledToken> ProvisionRun::create_token(ApiClient& api, const WorkItem& item, const std::string& key) {
  for (int attempt = 1;; ++attempt) {
    const std::string name = o_.name + "-" + random_suffix();
    RT_TRY_STATUS(journal_->intent(job_.id, key, name));
    auto created = api.create_repository_token(t_.provider, item.org, item.repo, name, o_.expires_at);
    if (created.ok()) {
      JournaledToken tok{key, job_.id, created->id, name, created->secret, created->expires_at, SystemClock().now()};
      if (!created->name.empty()) tok.name = created->name;
      RT_TRY_STATUS(journal_->created(tok));
      return tok;
    }
    const Error error = created.error();
    const bool uncertain = error.kind == ErrorKind::conflict || error.kind == ErrorKind::unavailable ||
                           error.kind == ErrorKind::throttled || error.kind == ErrorKind::internal;
    if (!uncertain) {
      RT_TRY_STATUS(journal_->abandoned(key, name, std::nullopt));
      return error;
    }
    auto tokens = api.list_repository_tokens(t_.provider, item.org, item.repo);
    if (!tokens.ok())  // the intent stays pending; the next run settles it
      return make_error(error.kind, error.message + "; whether a token was created is unknown until the next run");
    std::optional<std::int64_t> orphan;
    for (const auto& t : *tokens)
      if (t.name == name) orphan = t.id;
    if (orphan) RT_TRY_STATUS(api.delete_repository_token(t_.provider, item.org, item.repo, *orphan));
    RT_TRY_STATUS(journal_->abandoned(key, name, orphan));
    if (!orphan || attempt >= 3) return error;
  }
}

Outcome ProvisionRun::process(ApiClient& api, const WorkItem& item) {
  const std::string key = key_of(item);
  auto fail = [](const Error& e) { return Outcome{Outcome::failed, e.message}; };
  auto listed = api.list_repository_tokens(t_.provider, item.org, item.repo);
  if (!listed.ok()) return fail(listed.error());
  const UnixTime now = SystemClock().now();
  std::vector<RepositoryTokenInfo> live;
  for (const auto& t : *listed)
    if (t.live_at(now)) live.push_back(t);
  if (auto s = reconcile(api, item, key, live, *listed); !s.ok()) return fail(s.error());
  if (!item.selected) return Outcome{Outcome::reconciled};

  std::vector<RepositoryTokenInfo> family;
  for (const auto& t : live)
    if (in_token_family(t.name, o_.name)) family.push_back(t);
  auto journaled = journal_->tokens(key);
  auto held = [&](std::int64_t id) -> std::optional<JournaledToken> {
    for (auto it = journaled.rbegin(); it != journaled.rend(); ++it)
      if (it->id == id && !it->secret.empty() && !it->revoked) return *it;
    return std::nullopt;
  };
  std::optional<JournaledToken> job_token;  // made by this job earlier (a resumed run)
  for (const auto& t : family)
    if (auto h = held(t.id); h && h->job == job_.id && !job_token) job_token = h;

  Outcome out;
  if (o_.mode == ProvisionMode::ensure && !family.empty()) {
    out.kind = Outcome::skipped;
    for (const auto& t : family)  // newest first, as listed
      if (!out.deliverable) out.deliverable = held(t.id);
    out.secret_not_held = !out.deliverable;
  } else if (job_token && o_.mode == ProvisionMode::create) {
    out = Outcome{Outcome::skipped, "", 0, false, job_token};
  } else {
    std::optional<JournaledToken> fresh = job_token;
    if (!fresh) {
      auto made = create_token(api, item, key);
      if (!made.ok()) return fail(made.error());
      fresh = *made;
      if (auto s = deliver_exec(item, *fresh); !s.ok()) return fail(s.error());
    }
    out.kind = Outcome::created;
    out.deliverable = fresh;
    if (o_.mode == ProvisionMode::rotate) {
      out.kind = Outcome::rotated;
      for (const auto& old : family) {
        if (old.id == fresh->id) continue;
        Status s = o_.overlap_seconds ? journal_->retire(key, old.id, now + *o_.overlap_seconds)
                                      : revoke(api, item, key, old.id);
        if (!s.ok()) return fail(s.error());
        ++out.revoked_old;
      }
    }
  }
  if (auto s = journal_->complete(job_.id, key); !s.ok()) return fail(s.error());
  return out;
}

// Rotate with --overlap: wait until the old tokens' time has come, then revoke them.
void ProvisionRun::retire_due(ApiClient& api) {
  std::vector<std::pair<std::size_t, std::int64_t>> due;  // (item index, token id)
  UnixTime latest = 0;
  for (std::size_t i = 0; i < items_.size(); ++i)
    for (const auto& tok : journal_->tokens(key_of(items_[i])))
      if (tok.retire_after && !tok.revoked) {
        due.emplace_back(i, tok.id);
        latest = std::max(latest, *tok.retire_after);
      }
  if (due.empty()) return;
  UnixTime now = SystemClock().now();
  if (latest > now)
    say(o_.quiet, "waiting " + std::to_string(latest - now) + "s (--overlap) before revoking " + std::to_string(due.size()) +
                      " old tokens; it is safe to stop now and re-run the same command later");
  while (SystemClock().now() < latest && !interrupted()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  if (interrupted()) return;
  (void)api;
  run_parallel(o_.concurrency, due.size(), t_.connection, pacer_, stats_, [&](ApiClient& worker, std::size_t k) {
    const auto& [i, id] = due[k];
    if (auto s = revoke(worker, items_[i], key_of(items_[i]), id); !s.ok())
      outcomes_[i] = Outcome{Outcome::failed, "revoking old token " + std::to_string(id) + ": " + s.error().message};
  });
}

int ProvisionRun::run() {
  ApiClient api(t_.connection, pacer_, stats_);
  RetryLines retry_lines(stats_, o_.quiet);  // until the progress bar takes over
  auto org = api.get_organization(t_.provider, t_.org);
  if (!org.ok()) {
    std::fprintf(stderr, "error: %s\n", describe_error(org.error(), t_).c_str());
    return exit_status_for(org.error());
  }
  if (auto s = select(api); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", describe_error(s.error(), t_).c_str());
    return exit_status_for(s.error());
  }
  const std::string state = o_.state_path.empty() ? default_state_path(t_.connection.api_url, t_.provider, t_.org) : o_.state_path;
  std::string delivery = o_.output.empty() ? std::string() : (o_.output == "-" ? "standard output" : o_.output + " (mode 0600)");
  if (!o_.exec.empty()) delivery += std::string(delivery.empty() ? "" : " and ") + "--exec per token";
  if (delivery.empty()) delivery = "standard output";
  say(o_.quiet, std::string("plan: ") + mode_name(o_.mode) + " a token named '" + o_.name + "' for " +
                    std::to_string(selected_count_) + " repositories in " + t_.provider + "/" + t_.org +
                    (o_.expires_at ? ", expiring " + format_rfc3339(*o_.expires_at) : std::string(", default lifetime")) +
                    "; secrets to " + delivery + "; journal " + state);
  if (o_.dry_run) {
    for (const auto& i : items_) std::printf("%s\n", i.repo.c_str());
    say(o_.quiet, "dry run: nothing was changed");
    return kExitOk;
  }
  if (selected_count_ == 0) {
    say(o_.quiet, "no repository matches the selection; nothing to do");
    return kExitOk;
  }
  if (!o_.yes) {
    if (!is_terminal(0) || !is_terminal(2)) {
      std::fprintf(stderr, "error: refusing to change %zu repositories without confirmation: not a terminal; pass --yes\n",
                   selected_count_);
      return kExitUsage;
    }
    if (!confirm()) {
      std::fprintf(stderr, "cancelled; nothing was changed\n");
      return kExitFailure;
    }
  }
  auto journal = Journal::open(state);
  if (!journal.ok()) {
    std::fprintf(stderr, "error: %s\n", journal.error().message.c_str());
    return kExitUsage;
  }
  journal_ = std::move(journal).value();
  if (auto unfinished = journal_->unfinished_job(mode_name(o_.mode), o_.name)) {
    job_ = *unfinished;
    resumed_ = true;
    say(o_.quiet, "resuming the unfinished " + job_.mode + " job recorded in " + state);
  } else {
    auto job = journal_->begin_job(mode_name(o_.mode), o_.name);
    if (!job.ok()) {
      std::fprintf(stderr, "error: %s\n", job.error().message.c_str());
      return kExitFailure;
    }
    job_ = *job;
  }
  // Repositories outside the selection that the journal says need attention are reconciled too.
  std::set<std::string> selected_keys;
  for (const auto& i : items_) selected_keys.insert(key_of(i));
  for (const auto& key : journal_->repos_needing_attention()) {
    auto a = key.find('/'), b = key.find('/', a + 1);
    if (a == std::string::npos || b == std::string::npos || key.substr(0, a) != t_.provider) continue;
    if (!selected_keys.count(key)) items_.push_back({key.substr(a + 1, b - a - 1), key.substr(b + 1), false});
  }
  outcomes_.resize(items_.size());
  install_interrupt_handler();
  progress_ = std::make_unique<Progress>("provision", items_.size(), Progress::style_for(o_.quiet), o_.verbose, stats_);
  const double start = client::steady_seconds();
  run_parallel(o_.concurrency, items_.size(), t_.connection, pacer_, stats_, [&](ApiClient& worker, std::size_t i) {
    outcomes_[i] = process(worker, items_[i]);
    const auto& out = outcomes_[i];
    std::string note = out.kind == Outcome::failed ? "failed: " + out.reason
                       : out.kind == Outcome::skipped ? "skipped (has a live token)"
                       : out.kind == Outcome::reconciled ? "journal reconciled"
                       : out.kind == Outcome::rotated ? "rotated (" + out.deliverable->name + ")"
                                                      : "created " + out.deliverable->name;
    progress_->item_done(key_of(items_[i]), note);
  });
  progress_->finish();
  if (!interrupted()) retire_due(api);
  return finish(client::steady_seconds() - start);
}

int ProvisionRun::finish(double elapsed) {
  std::vector<DeliveredSecret> secrets;
  std::map<Outcome::Kind, std::size_t> counts;
  std::size_t revoked = 0, not_held = 0, not_done = 0;
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    const auto& out = outcomes_[i];
    counts[out.kind]++;
    revoked += out.revoked_old;
    not_held += out.secret_not_held;
    if (out.kind == Outcome::failed) failures.push_back(key_of(items_[i]) + ": " + out.reason);
    if (!items_[i].selected) continue;
    if (out.kind == Outcome::pending) ++not_done;
    std::optional<JournaledToken> tok = out.deliverable;
    if (!tok && (out.kind == Outcome::failed || out.kind == Outcome::pending)) {  // keep what was held before
      for (const auto& t : journal_->tokens(key_of(items_[i])))
        if (!t.revoked && !t.secret.empty() && !t.retire_after) tok = t;
    }
    if (tok) secrets.push_back(as_delivered(items_[i], *tok));
  }
  bool delivery_failed = false;
  if (!o_.output.empty() && o_.output != "-") {
    if (auto s = write_file_atomically(o_.output, render_secrets(secrets, o_.format)); !s.ok()) {
      std::fprintf(stderr, "error: %s (the secrets are kept in %s; re-run to write them)\n", s.error().message.c_str(),
                   journal_->path().c_str());
      delivery_failed = true;
    }
  } else if (o_.exec.empty() || o_.output == "-") {
    std::fputs(render_secrets(secrets, o_.format).c_str(), stdout);
    std::fflush(stdout);
  }
  const bool complete = failures.empty() && not_done == 0 && !interrupted() && !delivery_failed;
  if (complete) {
    bool retirements_left = false;
    for (const auto& i : items_)
      for (const auto& t : journal_->tokens(key_of(i))) retirements_left |= t.retire_after && !t.revoked;
    if (!retirements_left) (void)journal_->finish_job(job_.id);
  }
  const std::string retry_causes = retry_causes_text(stats_);
  char line[512];
  std::snprintf(line, sizeof line,
                "%s: created %zu, rotated %zu (old tokens revoked: %zu), skipped %zu, failed %zu%s; %llu requests, "
                "%llu refused, %llu retries%s in %.1fs",
                complete ? "done" : "incomplete", counts[Outcome::created], counts[Outcome::rotated], revoked,
                counts[Outcome::skipped], failures.size(),
                not_done ? (", not started " + std::to_string(not_done)).c_str() : "",
                static_cast<unsigned long long>(stats_.requests.load()), static_cast<unsigned long long>(stats_.refused.load()),
                static_cast<unsigned long long>(stats_.retries.load()),
                retry_causes.empty() ? "" : (" (" + retry_causes + ")").c_str(), elapsed);
  say(o_.quiet && complete, line);
  if (not_held)
    say(o_.quiet, std::to_string(not_held) + " repositories already had a live '" + o_.name +
                      "' token whose secret this journal does not hold (made elsewhere); use --mode rotate to replace them");
  for (std::size_t k = 0; k < failures.size() && k < 20; ++k) std::fprintf(stderr, "failed: %s\n", failures[k].c_str());
  if (failures.size() > 20) std::fprintf(stderr, "... and %zu more failures\n", failures.size() - 20);
  if (!complete) std::fprintf(stderr, "re-run the same command to finish the job (journal: %s)\n", journal_->path().c_str());
  return complete ? kExitOk : kExitFailure;
}

}  // namespace

int run_provision(const ProvisionOptions& options, const Target& target) {
  if ((options.output.empty() && options.exec.empty()) || options.output == "-") {
    if (is_terminal(1) && !options.show_secrets && !options.dry_run) {
      std::fprintf(stderr, "error: --output: secrets are not printed on a terminal; use --output FILE, --exec CMD, "
                           "pipe the output, or pass --show-secrets\n");
      return kExitUsage;
    }
  }
  ProvisionRun run(options, target);
  return run.run();
}

}  // namespace rt::cli
