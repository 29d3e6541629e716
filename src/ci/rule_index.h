// A CI issuer's trust rules, parsed once and indexed by the immutable id claim each binds (repository_id,
// project_id, ...), so that matching a job's token costs a lookup and the few rules it could match instead
// of parsing and globbing every rule of the issuer on every exchange. Rules that bind only names (no id
// claim) are tried for every token. Immutable after construction; shared read-only between threads.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ci/oidc.h"
#include "core/model.h"

namespace rt {

class CiRuleIndex {
 public:
  // `default_audience`: what a rule without an audience expects ("" when none: such a rule never matches).
  CiRuleIndex(CiIssuerKind kind, std::vector<CiTrustRule> rules, const std::string& default_audience);

  struct Match {
    const CiTrustRule* rule = nullptr;  // the matching rule of lowest id, if any
    bool audience_seen = false;         // some rule of the issuer expects one of the token's audiences
  };
  // `claims`: the token's claims as text (ci_claims_as_text); `audiences`: its aud (a string or a list).
  Match match(const std::map<std::string, std::string>& claims, const std::set<std::string>& audiences) const;

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    CiTrustRule rule;
    std::string audience;
    std::vector<std::pair<std::string, std::string>> claims;
  };
  CiIssuerKind kind_;
  std::vector<Entry> entries_;                                   // by rule id
  std::unordered_map<std::string, std::vector<size_t>> by_id_;  // "claim\0value" -> entries binding it
  std::vector<size_t> unindexed_;                                // entries binding no id claim literally
  std::set<std::string> audiences_;
};

}  // namespace rt
