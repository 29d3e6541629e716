// The provision engine: locks, selection, the plan (listing every selected repository's tokens), the
// per-repository state machine (reconcile the journal with the server, then ensure/create/rotate),
// retirement after --overlap, delivery with the journal's secrets dropped once it is durable.
#include "cli/provision.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "cli/file_lock.h"
#include "cli/journal.h"
#include "cli/progress.h"
#include "cli/provision_summary.h"
#include "cli/worker_pool.h"

namespace rt::cli {
namespace {

using client::ApiClient;
using client::RepositoryTokenInfo;

struct Outcome {
  enum Kind { pending, created, skipped, rotated, reconciled, failed } kind = pending;
  std::string reason;
  int revoked_old = 0;
  bool adopted = false;  // the create's reply was lost; the token that appeared was taken
  std::optional<JournaledToken> deliverable;
};

struct WorkItem {
  RepoKey key;
  bool selected = true;  // false: only journal reconciliation (a pending intent, a secret, a retirement)
  std::optional<std::vector<RepositoryTokenInfo>> listed;  // the plan's listing (all tokens, newest first)
  std::string list_error;
};

class ProvisionRun {
 public:
  ProvisionRun(const ProvisionOptions& o, const Target& t, const ProvisionEnv& env)
      : o_(o), t_(t), env_(env), clock_(env.clock ? *env.clock : system_clock_), pacer_(o.rate, o.concurrency) {}

  int run();

 private:
  int fail(int status, const std::string& message) {
    std::fprintf(env_.err, "error: %s\n", message.c_str());
    return status;
  }
  void say(const std::string& line) const {
    if (!o_.quiet) std::fprintf(env_.err, "%s\n", line.c_str());
  }
  ApiClient client() { return env_.transport ? ApiClient(t_.connection, pacer_, stats_, env_.transport(t_.connection))
                                             : ApiClient(t_.connection, pacer_, stats_); }
  void parallel(std::size_t count, const std::function<void(ApiClient&, std::size_t)>& work) {
    run_parallel(o_.concurrency, count, t_.connection, pacer_, stats_, work, env_.transport);
  }
  Status select(ApiClient& api);
  void list_tokens(ApiClient& api, WorkItem& item);
  Outcome process(ApiClient& api, WorkItem& item);
  Status reconcile(ApiClient& api, const WorkItem& item, std::vector<RepositoryTokenInfo>& all);
  Result<JournaledToken> create_token(ApiClient& api, const WorkItem& item, const std::vector<RepositoryTokenInfo>& all,
                                      bool& adopted);
  Status deliver_exec(const WorkItem& item, const JournaledToken& tok);
  Status revoke(ApiClient& api, const WorkItem& item, std::int64_t id);
  void retire_due();
  int finish(double elapsed);
  std::optional<JournaledToken> held_secret(const RepoKey& key) const;
  DeliveredSecret as_delivered(const RepoKey& k, const JournaledToken& tok) const {
    return {k.provider, k.org, k.name, tok.id, tok.name, tok.secret, tok.expires_at};
  }
  bool to_file() const { return !o_.output.empty() && o_.output != "-"; }

  const ProvisionOptions& o_;
  const Target& t_;
  const ProvisionEnv& env_;
  SystemClock system_clock_;
  const Clock& clock_;
  client::Pacer pacer_;
  client::ClientStats stats_;
  std::unique_ptr<FileLock> journal_lock_, output_lock_;
  std::unique_ptr<Journal> journal_;
  std::optional<SecretsFile> existing_output_;
  JournalJob job_;
  std::size_t selected_count_ = 0;
  std::vector<WorkItem> items_;
  std::vector<Outcome> outcomes_;
  std::unique_ptr<Progress> progress_;
};

Status ProvisionRun::select(ApiClient& api) {
  std::set<std::string> listed_found;
  RT_TRY_STATUS(api.for_each_repository(t_.provider, t_.org, "", [&](const client::RepositorySummary& r) {
    if (r.name.empty()) return;
    if (o_.selection.listed && o_.selection.listed->count(r.name)) listed_found.insert(r.name);
    if (o_.selection.selects(r.name)) items_.push_back({{t_.provider, t_.org, r.name}, true});
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

void ProvisionRun::list_tokens(ApiClient& api, WorkItem& item) {
  // A pending intent may be resolved by adopting a token whose create reply was lost: that needs the
  // secret a (Codacy) list may carry. It stays in memory only.
  const bool keep = !journal_->pending_intents(item.key).empty();
  auto listed = api.list_repository_tokens(item.key.provider, item.key.org, item.key.name, keep);
  if (listed.ok()) item.listed = std::move(listed).value();
  else item.list_error = describe_error(listed.error(), t_);
}

Status ProvisionRun::revoke(ApiClient& api, const WorkItem& item, std::int64_t id) {
  Status s = api.delete_repository_token(item.key.provider, item.key.org, item.key.name, id);
  if (!s.ok() && s.error().kind != ErrorKind::not_found) return s;  // not found: gone already, as wanted
  return journal_->revoked(item.key, id);
}

// --exec for one token; with no --output file to wait for, its success makes the delivery durable.
Status ProvisionRun::deliver_exec(const WorkItem& item, const JournaledToken& tok) {
  if (o_.exec.empty() || tok.executed || tok.secret.empty()) return ok_status();
  RT_TRY_STATUS(run_delivery_command(o_.exec, as_delivered(item.key, tok), o_.exec_timeout_seconds));
  RT_TRY_STATUS(journal_->executed(item.key, tok.id));
  if (!to_file()) RT_TRY_STATUS(journal_->delivered({{item.key, tok.id}}));
  return ok_status();
}

// Tokens in `all` that appeared after an intent: by name where the server keeps names, else by id (not
// there just before the create and not known to the journal).
std::vector<RepositoryTokenInfo> appeared_since(const std::vector<RepositoryTokenInfo>& all, const PendingIntent& intent,
                                                const std::vector<JournaledToken>& known) {
  std::vector<RepositoryTokenInfo> found;
  for (const auto& t : all) {
    if (!t.name.empty()) {
      if (t.name == intent.name) found.push_back(t);
      continue;
    }
    bool before = std::find(intent.before.begin(), intent.before.end(), t.id) != intent.before.end();
    bool journaled = std::any_of(known.begin(), known.end(), [&](const JournaledToken& k) { return k.id == t.id; });
    if (!before && !journaled) found.push_back(t);
  }
  return found;
}

// Brings the journal and the server into agreement for one repository before anything new is done:
// an intent without an outcome is resolved (the token that appeared is adopted when the list shows its
// secret, revoked otherwise), journaled tokens the server no longer has are dropped (secrets erased),
// retirements that are due are carried out, and tokens not yet given to --exec are given to it.
Status ProvisionRun::reconcile(ApiClient& api, const WorkItem& item, std::vector<RepositoryTokenInfo>& all) {
  for (const auto& intent : journal_->pending_intents(item.key)) {
    auto found = appeared_since(all, intent, journal_->tokens(item.key));
    if (found.size() == 1 && !found[0].listed_secret.empty()) {
      JournaledToken tok{item.key, intent.job, found[0].id, intent.name, found[0].listed_secret, found[0].expires_at,
                         clock_.now(), true};
      RT_TRY_STATUS(journal_->created(tok));
      continue;
    }
    std::optional<std::int64_t> orphan;
    if (found.size() == 1) {
      orphan = found[0].id;
      Status s = api.delete_repository_token(item.key.provider, item.key.org, item.key.name, *orphan);
      if (!s.ok() && s.error().kind != ErrorKind::not_found) return s;
      std::erase_if(all, [&](const RepositoryTokenInfo& t) { return t.id == *orphan; });
    }
    RT_TRY_STATUS(journal_->abandoned(item.key, intent.name, orphan));
    if (found.size() > 1)
      return make_error(ErrorKind::conflict, std::to_string(found.size()) +
                                                 " unnamed tokens appeared during an interrupted create; not "
                                                 "guessing which was this job's (see tokens list)");
  }
  const UnixTime now = clock_.now();
  for (const auto& tok : journal_->tokens(item.key)) {
    if (tok.revoked) continue;
    auto listed = std::find_if(all.begin(), all.end(), [&](const auto& t) { return t.id == tok.id; });
    if (listed == all.end() || !listed->live_at(now)) {  // revoked elsewhere, or expired: nothing to deliver
      RT_TRY_STATUS(journal_->revoked(item.key, tok.id));
      continue;
    }
    if (tok.retire_after && *tok.retire_after <= now) {
      RT_TRY_STATUS(revoke(api, item, tok.id));
      std::erase_if(all, [&](const RepositoryTokenInfo& t) { return t.id == tok.id; });
    } else if (!tok.retire_after) {
      RT_TRY_STATUS(deliver_exec(item, tok));
    }
  }
  return ok_status();
}

// Journal the intent (durably, with the ids present now), create, journal the reply (durably). A create
// whose reply is lost (502, 504, connection lost after sending) is never repeated blindly: the tokens are
// listed, and one that appeared since the intent is adopted when the list shows its secret (Codacy's
// does) or revoked when it does not (repotokensd's), and only then is a new create tried.
Result<JournaledToken> ProvisionRun::create_token(ApiClient& api, const WorkItem& item,
                                                  const std::vector<RepositoryTokenInfo>& all, bool& adopted) {
  std::vector<std::int64_t> before;
  for (const auto& t : all) before.push_back(t.id);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const PendingIntent intent{job_.id, o_.name + "-" + random_suffix(), before, clock_.now()};
    RT_TRY_STATUS(journal_->intent(job_.id, item.key, intent.name, before, intent.at));
    auto created = api.create_repository_token(item.key.provider, item.key.org, item.key.name, intent.name, o_.expires_at);
    if (created.ok()) {
      JournaledToken tok{item.key, job_.id, created->id, intent.name, created->secret, created->expires_at,
                         clock_.now(), true};
      RT_TRY_STATUS(journal_->created(tok));
      return tok;
    }
    const Error error = created.error();
    // A 409 is "certain" only when no earlier send of this very intent can have landed. libcurl re-sends a
    // request whose reused connection died without an answer, so a create the server carried out just
    // before it was killed comes back as "name already exists" (the name is this intent's own, random
    // suffix included): settle it by listing, as a lost reply.
    const bool own_name_taken = error.kind == ErrorKind::conflict && error.message.find(intent.name) != std::string::npos;
    if (!api.uncertain() && !own_name_taken) {  // certainly not created
      RT_TRY_STATUS(journal_->abandoned(item.key, intent.name, std::nullopt));
      return error;
    }
    auto listed = api.list_repository_tokens(item.key.provider, item.key.org, item.key.name, true);
    if (!listed.ok())  // the intent stays pending; the next run settles it
      return make_error(error.kind, error.message + "; whether a token was created is unknown until the next run");
    auto found = appeared_since(*listed, intent, journal_->tokens(item.key));
    if (found.size() == 1 && !found[0].listed_secret.empty()) {
      JournaledToken tok{item.key, job_.id, found[0].id, intent.name, found[0].listed_secret, found[0].expires_at,
                         clock_.now(), true};
      RT_TRY_STATUS(journal_->created(tok));
      adopted = true;
      return tok;
    }
    if (found.size() > 1) {
      RT_TRY_STATUS(journal_->abandoned(item.key, intent.name, std::nullopt));
      return make_error(ErrorKind::conflict, error.message + "; then " + std::to_string(found.size()) +
                                                 " unnamed tokens appeared; not guessing which was this job's");
    }
    std::optional<std::int64_t> orphan;
    if (found.size() == 1) {  // created, but its secret is not to be had: revoke it and try again
      orphan = found[0].id;
      Status s = api.delete_repository_token(item.key.provider, item.key.org, item.key.name, *orphan);
      if (!s.ok() && s.error().kind != ErrorKind::not_found) return s.error();
    }
    RT_TRY_STATUS(journal_->abandoned(item.key, intent.name, orphan));
  }
  return make_error(ErrorKind::unavailable, "the server lost the reply to three creates in a row; re-run later");
}

Outcome ProvisionRun::process(ApiClient& api, WorkItem& item) {
  auto failed = [](const std::string& reason) { return Outcome{Outcome::failed, reason}; };
  if (!item.listed) {
    list_tokens(api, item);
    if (!item.listed) return failed(item.list_error);
  }
  std::vector<RepositoryTokenInfo> all = *item.listed;
  if (auto s = reconcile(api, item, all); !s.ok()) return failed(s.error().message);
  if (!item.selected) return Outcome{Outcome::reconciled, "", 0, false, held_secret(item.key)};

  const UnixTime now = clock_.now();
  std::vector<RepositoryTokenInfo> live;
  for (const auto& t : all)
    if (t.live_at(now)) live.push_back(t);
  RepoPlan plan = plan_repository(o_.mode, o_.name, live, journal_->tokens(item.key), job_.id);
  Outcome out;
  if (plan.action == RepoPlan::keep) {
    out.kind = Outcome::skipped;
    out.deliverable = plan.held;
  } else {
    std::optional<JournaledToken> fresh = plan.resumed;
    if (!fresh) {
      auto made = create_token(api, item, all, out.adopted);
      if (!made.ok()) return failed(made.error().message);
      fresh = *made;
    }
    if (auto s = deliver_exec(item, *fresh); !s.ok()) return failed(s.error().message);
    out.kind = plan.action == RepoPlan::rotate ? Outcome::rotated : Outcome::created;
    out.deliverable = fresh;
    if (plan.action == RepoPlan::rotate)
      for (auto old : plan.ours) {
        if (old == fresh->id) continue;
        Status s = o_.overlap_seconds ? journal_->retire(item.key, old, now + *o_.overlap_seconds) : revoke(api, item, old);
        if (!s.ok()) return failed(s.error().message);
        ++out.revoked_old;
      }
  }
  if (auto s = journal_->complete(job_.id, item.key); !s.ok()) return failed(s.error().message);
  return out;
}

// The newest live, non-retiring token of the repository whose secret the journal still holds.
std::optional<JournaledToken> ProvisionRun::held_secret(const RepoKey& key) const {
  std::optional<JournaledToken> tok;
  for (const auto& t : journal_->tokens(key))
    if (!t.revoked && !t.secret.empty() && !t.retire_after) tok = t;
  return tok;
}

// Rotate with --overlap: wait until the old tokens' time has come, then revoke them.
void ProvisionRun::retire_due() {
  std::vector<std::pair<std::size_t, std::int64_t>> due;  // (item index, token id)
  UnixTime latest = 0;
  for (std::size_t i = 0; i < items_.size(); ++i)
    for (const auto& tok : journal_->tokens(items_[i].key))
      if (tok.retire_after && !tok.revoked) {
        due.emplace_back(i, tok.id);
        latest = std::max(latest, *tok.retire_after);
      }
  if (due.empty()) return;
  UnixTime now = clock_.now();
  if (latest > now)
    say("waiting " + std::to_string(latest - now) + "s (--overlap) before revoking " + std::to_string(due.size()) +
        " old tokens; it is safe to stop now and re-run the same command later");
  while (clock_.now() < latest && !interrupted()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  if (interrupted()) return;
  parallel(due.size(), [&](ApiClient& worker, std::size_t k) {
    const auto& [i, id] = due[k];
    if (auto s = revoke(worker, items_[i], id); !s.ok())
      outcomes_[i] = Outcome{Outcome::failed, "revoking old token " + std::to_string(id) + ": " + s.error().message};
  });
}

int ProvisionRun::run() {
  // Nothing is created before every check that can fail on the operator's input has passed.
  if (to_file()) {
    if (auto s = check_output_writable(o_.output); !s.ok()) return fail(kExitUsage, s.error().message);
    auto existing = SecretsFile::read(o_.output, o_.format, o_.force);
    if (!existing.ok()) return fail(kExitUsage, existing.error().message);
    existing_output_ = std::move(existing).value();
  }
  const std::string state =
      o_.state_path.empty() ? default_state_path(t_.connection.api_url, t_.provider, t_.org) : o_.state_path;
  if (!o_.dry_run) {  // one run per job: the journal and the output file are locked for the whole run
    std::filesystem::path dir = std::filesystem::path(state).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) return fail(kExitUsage, "--state: cannot create " + dir.string() + ": " + ec.message());
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
    std::string taken_over;
    auto lock = FileLock::acquire(state + ".lock", "the journal " + state, &taken_over);
    if (!lock.ok()) return fail(lock.error().kind == ErrorKind::conflict ? kExitFailure : kExitUsage, lock.error().message);
    journal_lock_ = std::move(lock).value();
    if (!taken_over.empty()) say("note: took over the lock of the journal left by " + taken_over);
    if (to_file()) {
      auto out_lock = FileLock::acquire(output_temp_path(o_.output) + ".lock", "the output file " + o_.output);
      if (!out_lock.ok())
        return fail(out_lock.error().kind == ErrorKind::conflict ? kExitFailure : kExitUsage, out_lock.error().message);
      output_lock_ = std::move(out_lock).value();
      ::unlink(output_temp_path(o_.output).c_str());  // left by a run that died while writing
    }
  }
  auto journal = Journal::open(state);
  if (!journal.ok()) return fail(kExitUsage, journal.error().message);
  journal_ = std::move(journal).value();

  ApiClient api = client();
  std::optional<RetryLines> retry_lines(std::in_place, stats_, o_.quiet);  // until the progress bar takes over
  auto org = api.get_organization(t_.provider, t_.org);
  if (!org.ok()) return fail(exit_status_for(org.error()), describe_error(org.error(), t_));
  if (auto s = select(api); !s.ok()) return fail(exit_status_for(s.error()), describe_error(s.error(), t_));
  // Repositories outside the selection that the journal says need attention are reconciled too.
  std::set<RepoKey> selected_keys;
  for (const auto& i : items_) selected_keys.insert(i.key);
  for (const auto& key : journal_->repos_needing_attention())
    if (key.provider == t_.provider && key.org == t_.org && !selected_keys.count(key)) items_.push_back({key, false});

  auto unfinished = journal_->unfinished_job(mode_name(o_.mode), o_.name);
  const std::string resumed_job = unfinished ? unfinished->id : "";
  install_interrupt_handler();
  // The plan: every selected repository's tokens, listed once (process() works from this listing).
  PlanCounts counts;
  parallel(items_.size(), [&](ApiClient& worker, std::size_t i) { list_tokens(worker, items_[i]); });
  if (interrupted()) return fail(kExitFailure, "interrupted while listing tokens; nothing was changed");
  const UnixTime now = clock_.now();
  std::vector<std::string> plan_lines;
  for (const auto& item : items_) {
    if (!item.selected) continue;
    if (!item.listed) {
      ++counts.unknown;
      plan_lines.push_back("unknown " + item.key.name + " (" + item.list_error + ")");
      continue;
    }
    std::vector<RepositoryTokenInfo> live;
    for (const auto& t : *item.listed)
      if (t.live_at(now)) live.push_back(t);
    RepoPlan plan = plan_repository(o_.mode, o_.name, live, journal_->tokens(item.key), resumed_job);
    const char* word = plan.action == RepoPlan::create ? "create" : plan.action == RepoPlan::rotate ? "rotate" : "keep";
    (plan.action == RepoPlan::create ? counts.create : plan.action == RepoPlan::rotate ? counts.rotate : counts.keep)++;
    plan_lines.push_back(std::string(word) + " " + item.key.name);
  }
  std::string delivery = to_file() ? o_.output + " (mode 0600, merged)" : std::string();
  if (!o_.exec.empty()) delivery += std::string(delivery.empty() ? "" : " and ") + "--exec per token";
  if (delivery.empty()) delivery = "standard output";
  const std::string where = t_.provider + "/" + t_.org;
  say(std::string("plan: ") + mode_name(o_.mode) + " tokens named '" + o_.name + "' in " + where + ": " +
      describe_counts(counts) + " (" + std::to_string(selected_count_) + " selected)" +
      (o_.expires_at ? ", expiring " + format_rfc3339(*o_.expires_at) : std::string(", default lifetime")) +
      "; secrets to " + delivery + "; journal " + state);
  if (o_.dry_run) {
    for (const auto& line : plan_lines) std::fprintf(env_.out, "%s\n", line.c_str());
    std::fflush(env_.out);
    say("dry run: nothing was changed");
    return kExitOk;
  }
  if (selected_count_ == 0 && items_.empty()) {
    say("no repository matches the selection; nothing to do");
    return kExitOk;
  }
  if (counts.create + counts.rotate > 0 && !o_.yes) {
    if (!env_.interactive || !env_.ask)
      return fail(kExitUsage, "refusing to change " + std::to_string(counts.create + counts.rotate) +
                                  " repositories without confirmation: not a terminal; pass --yes");
    auto answer = env_.ask(confirmation_question(counts, where));
    if (!answer || !is_yes(*answer)) {
      std::fprintf(env_.err, "cancelled; nothing was changed\n");
      return kExitCancelled;
    }
  }
  if (unfinished) {
    job_ = *unfinished;
    say("resuming the unfinished " + job_.mode + " job recorded in " + state);
  } else {
    auto job = journal_->begin_job(mode_name(o_.mode), o_.name);
    if (!job.ok()) return fail(kExitFailure, job.error().message);
    job_ = *job;
  }
  outcomes_.resize(items_.size());
  retry_lines.reset();
  progress_ = std::make_unique<Progress>("provision", items_.size(), Progress::style_for(o_.quiet), o_.verbose, stats_);
  const double start = client::steady_seconds();
  parallel(items_.size(), [&](ApiClient& worker, std::size_t i) {
    outcomes_[i] = process(worker, items_[i]);
    const auto& out = outcomes_[i];
    std::string note = out.kind == Outcome::failed       ? "failed: " + out.reason
                       : out.kind == Outcome::skipped    ? "skipped (has a live token)"
                       : out.kind == Outcome::reconciled ? "journal reconciled"
                       : out.kind == Outcome::rotated    ? "rotated (" + out.deliverable->name + ")"
                                                         : "created " + out.deliverable->name;
    progress_->item_done(items_[i].key.text(), note);
  });
  progress_->finish();
  if (!interrupted()) retire_due();
  return finish(client::steady_seconds() - start);
}

int ProvisionRun::finish(double elapsed) {
  std::vector<DeliveredSecret> secrets;
  std::vector<std::pair<RepoKey, std::int64_t>> delivered_ids;  // delivered once `secrets` are durable
  ProvisionTally tally;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    const auto& out = outcomes_[i];
    const auto& key = items_[i].key;
    if (out.kind == Outcome::failed) tally.failures.push_back(key.text() + ": " + out.reason);
    if (items_[i].selected) {
      tally.created += out.kind == Outcome::created;
      tally.rotated += out.kind == Outcome::rotated;
      tally.skipped += out.kind == Outcome::skipped;
      tally.not_started += out.kind == Outcome::pending;
    }
    tally.revoked_old += out.revoked_old;
    tally.adopted += out.adopted;
    std::optional<JournaledToken> tok = out.deliverable;
    if (tok) tok = [&]() -> std::optional<JournaledToken> {  // the journal's view now (exec may have run)
        for (const auto& t : journal_->tokens(key))
          if (t.id == tok->id) return t;
        return tok;
      }();
    if (!tok && (out.kind == Outcome::failed || out.kind == Outcome::pending)) tok = held_secret(key);
    if (tok && !tok->secret.empty()) {
      secrets.push_back(as_delivered(key, *tok));
      if (o_.exec.empty() || tok->executed) delivered_ids.emplace_back(key, tok->id);
    }
    if (out.kind == Outcome::skipped && items_[i].selected && !out.deliverable &&
        !(existing_output_ && existing_output_->has(as_delivered(key, JournaledToken{})))) {
      ++tally.not_held;
    }
  }
  bool delivery_failed = false;
  if (to_file()) {
    existing_output_->merge(secrets);
    if (auto s = write_file_atomically(o_.output, existing_output_->render(), output_temp_path(o_.output)); !s.ok()) {
      std::fprintf(env_.err, "error: %s (the secrets are kept in %s; re-run to write them)\n", s.error().message.c_str(),
                   journal_->path().c_str());
      delivery_failed = true;
    }
  } else if (o_.exec.empty() || o_.output == "-") {
    std::fputs(render_secrets(secrets, o_.format).c_str(), env_.out);
    delivery_failed = std::fflush(env_.out) != 0 || std::ferror(env_.out);
    if (delivery_failed) std::fprintf(env_.err, "error: could not write the secrets to standard output\n");
  } else {
    delivered_ids.clear();  // --exec only: each was marked delivered when its command succeeded
  }
  if (!delivery_failed) {
    if (auto s = journal_->delivered(delivered_ids); !s.ok()) delivery_failed = true;
  }
  tally.complete = tally.failures.empty() && tally.not_started == 0 && !interrupted() && !delivery_failed;
  if (tally.complete) {
    bool retirements_left = false;
    for (const auto& i : items_)
      for (const auto& t : journal_->tokens(i.key)) retirements_left |= t.retire_after && !t.revoked;
    if (!retirements_left) (void)journal_->finish_job(job_.id);
  }
  if (auto s = journal_->compact(); !s.ok()) std::fprintf(env_.err, "error: %s\n", s.error().message.c_str());
  tally.requests = stats_.requests.load();
  tally.refused = stats_.refused.load();
  tally.retries = stats_.retries.load();
  tally.retry_causes = retry_causes_text(stats_);
  tally.elapsed_seconds = elapsed;
  print_summary(env_.err, tally, o_.name, journal_->path(), o_.quiet);
  return tally.complete ? kExitOk : kExitFailure;
}

}  // namespace

ProvisionEnv system_provision_env() {
  ProvisionEnv env;
  env.interactive = is_terminal(0) && is_terminal(2);
  env.out_is_terminal = is_terminal(1);
  env.ask = [](const std::string& question) -> std::optional<std::string> {
    std::fputs(question.c_str(), stderr);
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer)) return std::nullopt;
    return answer;
  };
  return env;
}

int run_provision(const ProvisionOptions& options, const Target& target) {
  return run_provision(options, target, system_provision_env());
}

int run_provision(const ProvisionOptions& options, const Target& target, const ProvisionEnv& env) {
  if ((options.output.empty() && options.exec.empty()) || options.output == "-") {
    if (env.out_is_terminal && !options.show_secrets && !options.dry_run) {
      std::fprintf(env.err, "error: --output: secrets are not printed on a terminal; use --output FILE, --exec CMD, "
                            "pipe the output, or pass --show-secrets\n");
      return kExitUsage;
    }
  }
  ProvisionRun run(options, target, env);
  return run.run();
}

}  // namespace rt::cli
