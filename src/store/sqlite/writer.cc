// The writer thread and its group commit.
//
// Why group commit is safe: every write of a batch runs inside the same transaction, each under its own
// SAVEPOINT, so a write that fails (a conflict, a limit) is rolled back alone and the others still commit.
// A caller is released only after the COMMIT that contains its write has returned, and with
// synchronous=FULL that COMMIT has fsynced the WAL: an acknowledged write is durable. If the COMMIT itself
// fails, nothing of the batch was written and every caller in it gets that error. Because there is exactly
// one writer, a check-then-insert inside one body (the live-token limit) cannot race another write.
#include "store/sqlite/writer.h"

#include <exception>

namespace rt::sqlite {
namespace {

constexpr size_t kMaxBatch = 512;  // bounds one transaction's size and its callers' latency

Status call_body(const Writer::Body& body, Connection& conn) {
  try {
    return body(conn);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::internal, std::string("store write failed: ") + e.what());
  } catch (...) {
    return make_error(ErrorKind::internal, "store write failed with an unknown exception");
  }
}

}  // namespace

Writer::Writer(std::unique_ptr<Connection> conn, bool group_commit)
    : conn_(std::move(conn)), group_commit_(group_commit), thread_([this] { loop(); }) {}

Writer::~Writer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Status Writer::submit(Body body) {
  Job job;
  job.body = std::move(body);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return make_error(ErrorKind::unavailable, "the store is closing");
    queue_.push_back(&job);
  }
  wake_.notify_one();
  std::unique_lock lock(job.mutex);
  job.cv.wait(lock, [&] { return job.done; });
  return std::move(job.outcome);
}

void Writer::loop() {
  std::vector<Job*> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      size_t take = group_commit_ ? std::min(queue_.size(), kMaxBatch) : 1;
      batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
    }
    run_batch(batch);
    finish(batch);
  }
}

Status Writer::run_in_savepoint(Job& job) {
  if (auto r = conn_->execute("SAVEPOINT write"); !r.ok()) return r.error();
  Status st = call_body(job.body, *conn_);
  if (!conn_->in_transaction()) return st;  // SQLite already rolled the whole transaction back
  if (st.ok()) {
    auto released = conn_->execute("RELEASE write");
    if (released.ok()) return st;
    st = released.error();  // not released: undo it below, or it would commit with the batch
  }
  auto undo = conn_->execute("ROLLBACK TO write");
  if (undo.ok()) undo = conn_->execute("RELEASE write");
  // If even the rollback failed the transaction's state is unknown: end it, so the batch fails whole.
  if (!undo.ok()) (void)conn_->execute("ROLLBACK");
  return st;
}

void Writer::run_batch(std::vector<Job*>& batch) {
  if (auto begin = conn_->execute("BEGIN IMMEDIATE"); !begin.ok()) {
    for (Job* job : batch) job->outcome = begin.error();
    return;
  }
  bool any_ok = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    Job& job = *batch[i];
    job.outcome = group_commit_ ? run_in_savepoint(job) : call_body(job.body, *conn_);
    if (!conn_->in_transaction()) {
      // The transaction is gone (I/O error, disk full, ...): nothing of this batch is written.
      Error lost = job.outcome.ok() ? make_error(ErrorKind::internal, "store transaction ended unexpectedly")
                                    : job.outcome.error();
      lost.message = "transaction rolled back: " + lost.message;
      // Writes before this one that had failed keep their own error; all others get this one.
      for (size_t j = 0; j < batch.size(); ++j)
        if (j >= i || batch[j]->outcome.ok()) batch[j]->outcome = lost;
      return;
    }
    any_ok = any_ok || job.outcome.ok();
  }
  // Nothing to keep (all failed; or the one write of a non-grouped batch failed): skip the fsync.
  if (!any_ok) {
    (void)conn_->execute("ROLLBACK");
    return;
  }
  if (auto commit = conn_->execute("COMMIT"); !commit.ok()) {
    if (conn_->in_transaction()) (void)conn_->execute("ROLLBACK");
    for (Job* job : batch)
      if (job->outcome.ok()) job->outcome = commit.error();
  }
}

void Writer::finish(std::vector<Job*>& batch) {
  for (Job* job : batch) {
    std::lock_guard lock(job->mutex);  // held while notifying: the waiter owns `job` and may leave at once
    job->done = true;
    job->cv.notify_one();
  }
  batch.clear();
}

}  // namespace rt::sqlite
