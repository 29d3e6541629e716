// Deciding what provision does to one repository (recognising the job's tokens by name or by journaled
// id), and the words of the plan line and the prompt.
#include "cli/provision_plan.h"

#include <algorithm>

namespace rt::cli {

const char* mode_name(ProvisionMode m) {
  return m == ProvisionMode::ensure ? "ensure" : m == ProvisionMode::create ? "create" : "rotate";
}

bool in_token_family(const std::string& name, const std::string& base) {
  if (name == base) return true;
  if (name.size() != base.size() + 13 || !name.starts_with(base) || name[base.size()] != '-') return false;
  for (std::size_t i = base.size() + 1; i < name.size(); ++i)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9'))) return false;
  return true;
}

RepoPlan plan_repository(ProvisionMode mode, const std::string& base, const std::vector<client::RepositoryTokenInfo>& live,
                         const std::vector<JournaledToken>& journaled, const std::string& job) {
  auto journal_entry = [&](client::Id id) -> const JournaledToken* {
    for (auto it = journaled.rbegin(); it != journaled.rend(); ++it)
      if (it->id == id && it->made_here && !it->revoked) return &*it;
    return nullptr;
  };
  RepoPlan plan;
  for (const auto& t : live) {
    const JournaledToken* known = journal_entry(t.id);
    const bool ours = (!t.name.empty() && in_token_family(t.name, base)) ||
                      (known && in_token_family(known->name, base));
    if (ours) {
      plan.ours.push_back(t.id);
      if (known && !known->secret.empty() && !plan.held) plan.held = *known;
      if (known && !job.empty() && known->job == job && !plan.resumed) plan.resumed = *known;
    } else if (t.name.empty() && !known) {
      ++plan.unrecognised_unnamed;
    }
  }
  switch (mode) {
    case ProvisionMode::ensure:
      plan.action = plan.ours.empty() && plan.unrecognised_unnamed == 0 ? RepoPlan::create : RepoPlan::keep;
      break;
    case ProvisionMode::create:
      plan.action = plan.resumed ? RepoPlan::keep : RepoPlan::create;
      if (plan.resumed) plan.held = plan.resumed->secret.empty() ? std::nullopt : plan.resumed;
      break;
    case ProvisionMode::rotate:
      plan.action = RepoPlan::rotate;
      break;
  }
  return plan;
}

std::string describe_counts(const PlanCounts& c) {
  std::string text = "create " + std::to_string(c.create) + ", rotate " + std::to_string(c.rotate) + ", leave " +
                     std::to_string(c.keep) + " alone";
  if (c.unknown) text += ", " + std::to_string(c.unknown) + " not listed";
  return text;
}

std::string confirmation_question(const PlanCounts& c, const std::string& where) {
  std::string what;
  if (c.create) what = "Create " + std::to_string(c.create) + " repository token" + (c.create == 1 ? "" : "s");
  if (c.rotate)
    what += (what.empty() ? "Rotate " : " and rotate ") + std::to_string(c.rotate) + " repository token" +
            (c.rotate == 1 ? "" : "s");
  return what + " in " + where + " (leave " + std::to_string(c.keep) + " alone)? [y/N] ";
}

bool is_yes(const std::string& a) { return a == "y" || a == "Y" || a == "yes" || a == "Yes" || a == "YES"; }

}  // namespace rt::cli
