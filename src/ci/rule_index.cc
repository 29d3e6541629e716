// The trust-rule index (rule_index.h): each rule filed under the first id claim it binds without a glob,
// in ci_id_claims' order; matching looks up the token's own id claims and tries those rules and the
// name-only ones in rule-id order, so the answer is the one a pass over every rule would give.
#include "ci/rule_index.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace rt {
namespace {

std::string id_key(const std::string& claim, const std::string& value) { return claim + '\0' + value; }

}  // namespace

CiRuleIndex::CiRuleIndex(CiIssuerKind kind, std::vector<CiTrustRule> rules, const std::string& default_audience)
    : kind_(kind) {
  std::sort(rules.begin(), rules.end(), [](const CiTrustRule& a, const CiTrustRule& b) { return a.id < b.id; });
  const auto& ids = ci_id_claims(kind);
  for (CiTrustRule& rule : rules) {
    Entry e;
    e.audience = rule.audience.empty() ? default_audience : rule.audience;
    nlohmann::json doc = nlohmann::json::parse(rule.claims_json, nullptr, false);
    if (doc.is_object())
      for (auto it = doc.begin(); it != doc.end(); ++it)
        if (it.value().is_string()) e.claims.emplace_back(it.key(), it.value().get<std::string>());
    e.rule = std::move(rule);
    if (e.audience.empty()) continue;  // expects nothing a token could carry
    audiences_.insert(e.audience);
    const size_t at = entries_.size();
    std::string key;
    for (const std::string& id : ids) {
      auto bound = std::find_if(e.claims.begin(), e.claims.end(), [&](const auto& c) { return c.first == id; });
      if (bound != e.claims.end() && bound->second.find('*') == std::string::npos) {
        key = id_key(id, bound->second);
        break;
      }
    }
    if (key.empty()) unindexed_.push_back(at);
    else by_id_[key].push_back(at);
    entries_.push_back(std::move(e));
  }
}

CiRuleIndex::Match CiRuleIndex::match(const std::map<std::string, std::string>& claims,
                                      const std::set<std::string>& audiences) const {
  Match out;
  for (const std::string& a : audiences_)
    if (audiences.count(a)) out.audience_seen = true;
  if (!out.audience_seen) return out;
  std::vector<size_t> candidates = unindexed_;
  for (const std::string& id : ci_id_claims(kind_)) {
    auto value = claims.find(id);
    if (value == claims.end()) continue;
    if (auto hit = by_id_.find(id_key(id, value->second)); hit != by_id_.end())
      candidates.insert(candidates.end(), hit->second.begin(), hit->second.end());
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (size_t i : candidates) {
    const Entry& e = entries_[i];
    if (audiences.count(e.audience) && !first_mismatch(kind_, e.claims, claims)) {
      out.rule = &e.rule;
      return out;
    }
  }
  return out;
}

}  // namespace rt
