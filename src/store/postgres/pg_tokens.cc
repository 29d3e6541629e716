// PostgreSQL store: repository tokens (the live-token rules under concurrency), batched last-use times,
// and the audit log.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "store/postgres/pg_rows.h"
#include "store/encodings.h"
#include "store/postgres/postgres_store.h"

namespace rt::postgres {
namespace {

// How many batches of token creations are in flight at once (a quarter of the pool, at most 4: with 64
// concurrent creators 4 gave batches of about 8 and the lowest CPU per token; 2 and 8 measured worse,
// docs/benchmarks.md), and how large one may grow.
int creation_runners(int pool_size) { return std::clamp(pool_size / 4, 1, 4); }
constexpr std::size_t kMaxCreationBatch = 64;

}  // namespace

// One creation waiting in the group commit (postgres_store.h), on its caller's stack.
struct PostgresStore::Creation : GroupItem {
  const NewRepositoryToken& token;
  UnixTime now;
  int max_live;
  const AuditEvent& audit;
  enum class Outcome { alone, created, no_repository, refused, failed } outcome = Outcome::alone;
  Id id = 0;
  std::optional<Error> error;
  Creation(const NewRepositoryToken& t, UnixTime n, int m, const AuditEvent& a)
      : token(t), now(n), max_live(m), audit(a) {
    key = t.repository_id;
  }
};

PostgresStore::PostgresStore(std::unique_ptr<Pool> pool)
    : pool_(std::move(pool)),
      creations_(creation_runners(pool_->size()), kMaxCreationBatch, [this](std::vector<GroupItem*>& batch) {
        std::vector<Creation*> creations;
        for (GroupItem* item : batch) creations.push_back(static_cast<Creation*>(item));
        write_creations(creations);
      }) {}

void PostgresStore::write_creations(std::span<Creation* const> batch) {
  // One round trip and one commit for the batch: the lock and the insert go out together as one
  // pipeline, which is one implicit transaction (store/postgres/connection.h). Creators of tokens on one
  // repository queue on its row, whichever node they run on; rows are locked in id order, so two nodes'
  // batches never deadlock. The rules are checked in a separate statement on purpose: under READ
  // COMMITTED each statement takes a fresh snapshot, so once the locks are ours the insert sees every
  // token committed by their previous holders. (A subquery in the locking statement itself would keep the
  // snapshot taken before the wait.) NO KEY UPDATE does not block the foreign-key checks of unrelated
  // inserts that reference the repository. A batch holds at most one creation per repository, so each
  // one's rules are independent of the others': one walk of the repository's live tokens in the index of
  // (repository, expiry) INCLUDE (name) counts them and finds a taken name at once. The insert writes the
  // audit rows and the outbox rows of the tokens it made in the same statement; a creation with no token
  // back was refused by a rule.
  // Planned once per connection: left to itself PostgreSQL plans both statements anew at every
  // execution (their custom plans, which know the arrays, look cheaper than the generic one), which cost
  // more than executing them (pg_stat_statements, docs/benchmarks.md). The setting is the session's, so
  // it is put back at the end; a failed batch rolls it back with the rest.
  static constexpr const char* kGenericPlans = "SET plan_cache_mode = force_generic_plan";
  static constexpr const char* kDefaultPlans = "RESET plan_cache_mode";
  static constexpr const char* kLock =
      "SELECT id FROM repositories WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE";
  static const std::string kInsert = std::string(
      "WITH i AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::bigint[], $5::bigint[],"
      " $6::boolean[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[],"
      " $13::text[], $14::text[], $15::text[], $16::text[], $17::text[]) AS i(repository_id, name, hash,"
      " created_at, expires_at, ci_only, now, max_live, org_id, at, actor_user_id, actor, action, target,"
      " details, prefix, event)),"
      " t AS (INSERT INTO repository_tokens(repository_id, name, hash, created_at, expires_at, created_by, ci_only)"
      " SELECT i.repository_id, i.name, i.hash, i.created_at, i.expires_at, i.actor, i.ci_only"
      " FROM i JOIN repositories r ON r.id = i.repository_id"
      " CROSS JOIN LATERAL (SELECT count(*) AS live, count(*) FILTER (WHERE k.name = i.name) AS named"
      " FROM repository_tokens k WHERE k.repository_id = i.repository_id AND k.expires_at > i.now) n"
      " WHERE n.live < i.max_live AND n.named = 0"
      " ORDER BY i.repository_id RETURNING id, repository_id),"
      " k AS (SELECT t.id, i.* FROM t JOIN i ON i.repository_id = t.repository_id),"
      " a AS (INSERT INTO audit_events(org_id, at, actor_user_id, actor, action, target, details)"
      " SELECT org_id, at, actor_user_id, actor, action, target, details FROM k ORDER BY id),"
      " e AS (") + kCreatedTokenEventInsert + ")"
      " SELECT repository_id, id FROM t";
  constexpr int kColumns = 17;
  std::vector<Value> columns[kColumns];
  std::vector<Id> repositories;
  for (Creation* c : batch) {
    const NewRepositoryToken& t = c->token;
    const AuditEvent& a = c->audit;
    const Value row[kColumns] = {t.repository_id, t.name, t.hash, t.created_at, t.expires_at, t.ci_only, c->now,
                                 c->max_live, a.org_id, a.at, a.actor_user_id, a.actor, a.action, a.target,
                                 a.details, new_webhook_event_id_prefix(), created_token_event(a.action)};
    for (int col = 0; col < kColumns; ++col) columns[col].push_back(row[col]);
    repositories.push_back(t.repository_id);
  }
  Params params;
  for (const std::vector<Value>& column : columns) params.emplace_back(value_array(column));
  auto done = pool_->run<std::vector<Rows>>([&](Connection& c) {
    return c.pipeline({{kGenericPlans, {}},
                       {kLock, {id_array(repositories)}},
                       {kInsert.c_str(), std::move(params)},
                       {kDefaultPlans, {}}});
  });
  if (!done.ok()) {
    // Nothing was written. A batch of one has its answer; the creations of a larger one are tried again
    // one by one by their own callers, so that one creation's failure is its own and not its batch's.
    for (Creation* c : batch) {
      c->outcome = batch.size() == 1 ? Creation::Outcome::failed : Creation::Outcome::alone;
      if (batch.size() == 1) c->error = name_conflict(done.error(), "a token with this hash already exists");
    }
    return;
  }
  const Rows& locked = (*done)[1];
  const Rows& created = (*done)[2];
  std::map<Id, Id> made;  // repository -> the token made for it
  std::set<Id> existing;  // the repositories the lock found
  for (int i = 0; i < created.size(); ++i) made[created.int64(i, 0)] = created.int64(i, 1);
  for (int i = 0; i < locked.size(); ++i) existing.insert(locked.int64(i, 0));
  for (Creation* c : batch) {
    if (auto it = made.find(c->token.repository_id); it != made.end()) {
      c->outcome = Creation::Outcome::created;
      c->id = it->second;
    } else {
      c->outcome = existing.contains(c->token.repository_id) ? Creation::Outcome::refused
                                                              : Creation::Outcome::no_repository;
    }
  }
}

Result<RepositoryToken> PostgresStore::create_repository_token(const NewRepositoryToken& token, UnixTime now,
                                                               int max_live, const AuditEvent& audit) {
  Creation creation(token, now, max_live, audit);
  creations_.submit(creation);
  if (creation.outcome == Creation::Outcome::alone) {  // its batch failed: on its own now
    Creation* one[] = {&creation};
    write_creations(one);
  }
  switch (creation.outcome) {
    case Creation::Outcome::created:
      break;
    case Creation::Outcome::no_repository:
      return not_found("no repository with id " + std::to_string(token.repository_id));
    case Creation::Outcome::refused:
      // Say which rule, from a fresh look (nothing was written).
      return read<RepositoryToken>([&](Connection& c) -> Result<RepositoryToken> {
        RT_TRY(Rows rules, c.exec("SELECT count(*), count(*) FILTER (WHERE name = $2) FROM repository_tokens"
                                  " WHERE repository_id = $1 AND expires_at > $3",
                                  {token.repository_id, token.name, now}));
        if (rules.int64(0, 1) > 0)
          return live_token_name_taken(token.name);
        return live_token_cap_reached(rules.int64(0, 0), max_live);
      });
    case Creation::Outcome::alone:
    case Creation::Outcome::failed:
      return creation.error.value_or(make_error(ErrorKind::unavailable, "the token creation was not written"));
  }
  return RepositoryToken{.id = creation.id, .repository_id = token.repository_id, .name = token.name,
                         .created_at = token.created_at, .expires_at = token.expires_at, .last_used_at = {},
                         .created_by = audit.actor, .ci_only = token.ci_only};
}

Result<RepositoryToken> PostgresStore::find_repository_token(const SecretHash& hash) {
  return read<RepositoryToken>([&](Connection& c) -> Result<RepositoryToken> {
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_REPOSITORY_TOKEN_COLUMNS " FROM repository_tokens k WHERE k.hash = $1",
                             {hash}));
    if (rows.size() == 0) return not_found("unknown repository token");
    return read_repository_token(rows, 0);
  });
}

Result<Page<RepositoryToken>> PostgresStore::list_repository_tokens(Id repository_id, std::optional<Id> before_id,
                                                                    int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return snapshot<Page<RepositoryToken>>([&](Connection& c) -> Result<Page<RepositoryToken>> {
    RT_TRY(Rows rows, before_id ? c.exec("SELECT " RT_PG_REPOSITORY_TOKEN_COLUMNS " FROM repository_tokens k"
                                         " WHERE k.repository_id = $1 AND k.id < $2 ORDER BY k.id DESC LIMIT $3",
                                         {repository_id, *before_id, limit + 1})
                                : c.exec("SELECT " RT_PG_REPOSITORY_TOKEN_COLUMNS " FROM repository_tokens k"
                                         " WHERE k.repository_id = $1 ORDER BY k.id DESC LIMIT $2",
                                         {repository_id, limit + 1}));
    auto page =
        make_page<RepositoryToken>(rows, limit, [](const Rows& r, int i) { return read_repository_token(r, i); });
    RT_TRY(auto total, c.query_int64("SELECT count(*) FROM repository_tokens WHERE repository_id = $1",
                                     {repository_id}));
    page.total = total.value_or(0);
    return page;
  });
}

Result<int> PostgresStore::delete_repository_tokens(Id repository_id, std::span<const Id> ids,
                                                    const AuditEvent& audit) {
  std::vector<Id> list(ids.begin(), ids.end());
  // Announced before the rows go (the events name them); no row, nothing announced.
  const std::string events = std::string(kRepositoryTokenEventInsert) + "k.id = ANY($6::bigint[]) ORDER BY k.id, w.id";
  const char* event = audit.action == "token.leaked" ? "token.leaked" : "token.revoked";
  return write<int>([&](Connection& c) -> Result<int> {
    RT_TRY(Rows announced, c.exec(events, {new_webhook_event_id_prefix(), event, audit.at, audit.actor, repository_id,
                                           id_array(list)}));
    (void)announced;
    RT_TRY(Rows r, c.exec("DELETE FROM repository_tokens WHERE repository_id = $1 AND id = ANY($2::bigint[])",
                          {repository_id, id_array(list)}));
    if (r.affected() > 0) RT_TRY_STATUS(insert_audit(c, audit));  // nothing deleted, nothing to record
    return r.affected();
  });
}

Result<int> PostgresStore::purge_expired_ci_tokens(UnixTime expired_before, int limit) {
  return write<int>([&](Connection& c) -> Result<int> {
    RT_TRY(Rows r, c.exec("DELETE FROM repository_tokens WHERE id IN (SELECT id FROM repository_tokens"
                          " WHERE expires_at < $1 AND ci_only ORDER BY expires_at LIMIT $2)",
                          {expired_before, static_cast<std::int64_t>(limit)}));
    return r.affected();
  });
}

Status PostgresStore::record_last_use(std::span<const LastUse> uses) {
  if (uses.empty()) return ok_status();
  // The latest time per token, ids ascending: one UPDATE per kind, and nodes flushing overlapping batches
  // lock rows in the same order. A time never moves backwards, whichever node's batch lands last.
  std::map<Id, UnixTime> latest[2];
  for (const LastUse& u : uses) {
    UnixTime& at = latest[u.kind == TokenKind::repository][u.token_id];
    at = std::max(at, u.at);
  }
  return write<Ok>([&](Connection& c) -> Status {
    for (int kind = 0; kind < 2; ++kind) {
      if (latest[kind].empty()) continue;
      std::vector<Id> ids, times;
      for (auto [id, at] : latest[kind]) {
        ids.push_back(id);
        times.push_back(at);
      }
      const char* sql = kind == 1 ? "UPDATE repository_tokens t SET last_used_at = u.at"
                                    " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, at)"
                                    " WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)"
                                  : "UPDATE account_tokens t SET last_used_at = u.at"
                                    " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, at)"
                                    " WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)";
      RT_TRY(Rows r, c.exec(sql, {id_array(ids), id_array(times)}));
      (void)r;
    }
    return ok_status();
  });
}

Status PostgresStore::append_audit(const AuditEvent& event) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY_STATUS(insert_audit(c, event));
    return enqueue_account_token_event(c, event);
  });
}

Result<Page<AuditEvent>> PostgresStore::list_audit(const AuditQuery& aq) {
  RT_TRY_STATUS(check_limit(aq.limit));
  Query q;
  std::string filter = " FROM audit_events a WHERE a.org_id = " + q.bind(aq.org_id);
  if (aq.from) filter += " AND a.at >= " + q.bind(*aq.from);
  if (aq.to) filter += " AND a.at <= " + q.bind(*aq.to);
  if (!aq.action.empty()) filter += " AND a.action = " + q.bind(aq.action);
  if (!aq.actor.empty()) filter += " AND a.actor ILIKE " + q.bind(like_pattern(aq.actor)) + " ESCAPE '\\'";
  if (!aq.repository.empty()) {
    // left() rather than LIKE: a repository path may hold % or _.
    filter += " AND (a.target = " + q.bind(aq.repository) + " OR left(a.target, " +
              q.bind(static_cast<std::int64_t>(aq.repository.size() + 1)) + ") = " + q.bind(aq.repository + "#") + ")";
  }
  Query count{"SELECT count(*)" + filter, q.args};
  if (aq.before_id) filter += " AND a.id < " + q.bind(*aq.before_id);
  q.sql = "SELECT " RT_PG_AUDIT_COLUMNS + filter + " ORDER BY a.id DESC LIMIT ";
  q.sql += q.bind(aq.limit + 1);
  return snapshot<Page<AuditEvent>>([&](Connection& c) -> Result<Page<AuditEvent>> {
    RT_TRY(Rows rows, c.exec(q.sql, q.args));
    auto page = make_page<AuditEvent>(rows, aq.limit, [](const Rows& r, int i) { return read_audit_event(r, i); });
    RT_TRY(auto total, c.query_int64(count.sql, count.args));
    page.total = total.value_or(0);
    return page;
  });
}

}  // namespace rt::postgres
