// Errors as values: every fallible call in repotokens returns Result<T> (or Status), never throws across
// a module, a thread or the event loop. The HTTP layer alone maps an ErrorKind to a status code.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace rt {

enum class ErrorKind {
  invalid,        // 400: the request is malformed (bad JSON, bad field, bad cursor)
  unauthorized,   // 401: no credential, or an unknown / revoked one
  expired,        // 401: a credential that existed but is past its expiry (said distinctly)
  forbidden,      // 403: authenticated, but not allowed to do this
  not_found,      // 404: no such thing, or one the caller may not see
  conflict,       // 409: would break a uniqueness rule or a limit
  unprocessable,  // 422: well-formed but semantically refused
  too_large,      // 413: body over the limit
  throttled,      // 429: rate limit
  unavailable,    // 503: a dependency (database, Redis) is down; retry later
  internal,       // 500: a bug or an unexpected failure
};

// Short name used in logs and in the v3 error body ("NotFound", "Conflict", ...).
const char* error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;  // human text; never contains a secret
};

inline Error make_error(ErrorKind kind, std::string message) { return Error{kind, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result of a call that yields nothing but success or an error.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace rt

// Propagate an error: RT_TRY(auto x, expr) or RT_TRY_STATUS(expr).
#define RT_CONCAT_(a, b) a##b
#define RT_CONCAT(a, b) RT_CONCAT_(a, b)
#define RT_TRY_IMPL_(tmp, decl, expr)    \
  auto tmp = (expr);                     \
  if (!tmp.ok()) return tmp.error();     \
  decl = std::move(tmp).value()
#define RT_TRY(decl, expr) RT_TRY_IMPL_(RT_CONCAT(rt_try_, __LINE__), decl, expr)
#define RT_TRY_STATUS(expr)                                  \
  do {                                                       \
    auto rt_status_ = (expr);                                \
    if (!rt_status_.ok()) return rt_status_.error();         \
  } while (0)
