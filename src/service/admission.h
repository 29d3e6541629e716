// Admission: who is calling (an account token, a project token, a console session, or nobody) and whether
// their rate limit lets the request through. Tokens are looked up by their keyed hash through caches
// trusted for the cache TTL, the bound on how late a revocation made through another node takes effect here.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "service/last_use.h"
#include "service/service.h"
#include "service/ttl_cache.h"

namespace rt {

class Admitter {
 public:
  // A console session id -> its user (service/console.cc), for requests that carry only the cookie.
  using SessionAuthenticator = std::function<Result<Principal>(const std::string& session_id)>;

  Admitter(Store& store, const SecretHasher& hasher, const Clock& clock, Limiter& limiter, LastUseRecorder& last_use,
           RateLimitRule per_token, RateLimitRule per_address, std::chrono::milliseconds cache_ttl,
           SessionAuthenticator sessions);

  // Service::admit and Service::try_admit_from_memory (service.h says what they do).
  Admission admit(const Credentials& credentials, bool anonymous_allowed);
  std::optional<Admission> try_admit_from_memory(const Credentials& credentials);

  void clear();

 private:
  Result<Principal> authenticate(const Credentials& c);
  // Counts an authenticated (or refused) request against its rate limit and completes the admission.
  Admission charge(const Credentials& c, Result<Principal> principal);

  Store& store_;
  const SecretHasher& hasher_;
  const Clock& clock_;
  Limiter& limiter_;
  LastUseRecorder& last_use_;
  RateLimitRule per_token_, per_address_;
  SessionAuthenticator sessions_;
  struct HashOfSecret {
    size_t operator()(const SecretHash& h) const;
  };
  TtlCache<SecretHash, AccountTokenOwner, HashOfSecret> account_tokens_;
  TtlCache<SecretHash, RepositoryToken, HashOfSecret> repository_tokens_;
};

}  // namespace rt
