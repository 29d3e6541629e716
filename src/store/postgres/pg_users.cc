// PostgreSQL store: users and their account tokens.
#include "store/postgres/pg_rows.h"
#include "store/postgres/postgres_store.h"

namespace rt::postgres {

Result<User> PostgresStore::create_user(const NewUser& user) {
  return write<User>([&](Connection& c) -> Result<User> {
    auto r = c.query_int64("INSERT INTO users(name, email, is_admin, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                           {user.name, user.email, user.is_admin, user.created_at});
    if (!r.ok()) return name_conflict(r.error(), "a user named " + user.name + " already exists");
    return User{.id = r->value_or(0), .name = user.name, .email = user.email, .is_admin = user.is_admin,
                .created_at = user.created_at};
  });
}

Result<User> PostgresStore::get_user(Id user_id) {
  return read<User>([&](Connection& c) -> Result<User> {
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_USER_COLUMNS " FROM users u WHERE u.id = $1", {user_id}));
    if (rows.size() == 0) return not_found("no user with id " + std::to_string(user_id));
    return read_user(rows, 0);
  });
}

Result<std::vector<User>> PostgresStore::find_users_by_email(const std::string& email) {
  return read<std::vector<User>>([&](Connection& c) -> Result<std::vector<User>> {
    // translate() folds ASCII letters only, as SQLite's lower() does: both stores match the same addresses.
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_USER_COLUMNS " FROM users u WHERE translate(u.email,"
                             " 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') = $1 ORDER BY u.id",
                             {email}));
    std::vector<User> out;
    out.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) out.push_back(read_user(rows, i));
    return out;
  });
}

Result<AccountToken> PostgresStore::create_account_token(Id user_id, const SecretHash& hash, UnixTime created_at,
                                                         std::optional<UnixTime> expires_at) {
  return write<AccountToken>([&](Connection& c) -> Result<AccountToken> {
    RT_TRY_STATUS(user_exists(c, user_id));
    auto r = c.query_int64("INSERT INTO account_tokens(user_id, hash, created_at, expires_at) VALUES ($1, $2, $3, $4)"
                           " RETURNING id",
                           {user_id, hash, created_at, expires_at});
    if (!r.ok()) return name_conflict(r.error(), "an account token with this hash already exists");
    return AccountToken{.id = r->value_or(0), .user_id = user_id, .created_at = created_at,
                        .expires_at = expires_at, .last_used_at = std::nullopt};
  });
}

Result<AccountTokenOwner> PostgresStore::find_account_token(const SecretHash& hash) {
  return read<AccountTokenOwner>([&](Connection& c) -> Result<AccountTokenOwner> {
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_ACCOUNT_TOKEN_COLUMNS ", " RT_PG_USER_COLUMNS
                             " FROM account_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1",
                             {hash}));
    if (rows.size() == 0) return not_found("unknown account token");
    return AccountTokenOwner{read_account_token(rows, 0), read_user(rows, 0, kAccountTokenColumnCount)};
  });
}

Result<Page<AccountToken>> PostgresStore::list_account_tokens(Id user_id, std::optional<Id> before_id, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return snapshot<Page<AccountToken>>([&](Connection& c) -> Result<Page<AccountToken>> {
    RT_TRY(Rows rows, before_id ? c.exec("SELECT " RT_PG_ACCOUNT_TOKEN_COLUMNS " FROM account_tokens t"
                                         " WHERE t.user_id = $1 AND t.id < $2 ORDER BY t.id DESC LIMIT $3",
                                         {user_id, *before_id, limit + 1})
                                : c.exec("SELECT " RT_PG_ACCOUNT_TOKEN_COLUMNS " FROM account_tokens t"
                                         " WHERE t.user_id = $1 ORDER BY t.id DESC LIMIT $2",
                                         {user_id, limit + 1}));
    auto page = make_page<AccountToken>(rows, limit, [](const Rows& r, int i) { return read_account_token(r, i); });
    RT_TRY(auto total, c.query_int64("SELECT count(*) FROM account_tokens WHERE user_id = $1", {user_id}));
    page.total = total.value_or(0);
    return page;
  });
}

Status PostgresStore::delete_account_token(Id user_id, Id token_id) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(Rows r, c.exec("DELETE FROM account_tokens WHERE id = $1 AND user_id = $2", {token_id, user_id}));
    if (r.affected() == 0) return not_found("no account token " + std::to_string(token_id) + " for this user");
    return ok_status();
  });
}

}  // namespace rt::postgres
