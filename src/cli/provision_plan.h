// The plan of a provision run: what it will do to each repository, decided from the server's current
// tokens and the journal before anything changes, and the counts the plan line, the prompt and --dry-run
// show (tokens to create, to rotate, repositories left alone).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/journal.h"
#include "client/api_client.h"

namespace rt::cli {

enum class ProvisionMode { ensure, create, rotate };
const char* mode_name(ProvisionMode mode);

// How the job's own tokens are recognised, in this order: a name of the family (on servers that keep
// names), or an id the journal recorded for a token of the family it created. A token with no name that
// the journal does not know (Codacy keeps no names; made by hand, or by a run whose journal was moved away)
// cannot be told apart: ensure counts it as provisioned (a second token is never created because the
// server keeps no names); rotate leaves it alone.
struct RepoPlan {
  enum Action { create, rotate, keep } action = keep;
  std::vector<client::Id> ours;                // live tokens recognised as the family's, newest first
  std::size_t unrecognised_unnamed = 0;        // live unnamed tokens the journal does not know
  std::optional<JournaledToken> held;          // newest live family token whose secret the journal holds
  std::optional<JournaledToken> resumed;       // made by this (unfinished) job already: not made again
};

// `live`: the repository's live tokens as listed (newest first). `journaled`: the journal's tokens of the
// repository. `job`: the id of the job being resumed, "" for a new one.
RepoPlan plan_repository(ProvisionMode mode, const std::string& base_name,
                         const std::vector<client::RepositoryTokenInfo>& live,
                         const std::vector<JournaledToken>& journaled, const std::string& job);

struct PlanCounts {
  std::size_t create = 0, rotate = 0, keep = 0, unknown = 0;  // unknown: its tokens could not be listed
};

// "create 12, rotate 0, leave 288 alone" (+ ", 3 not listed" when some could not be listed).
std::string describe_counts(const PlanCounts& counts);
// The confirmation question, e.g. "Create 12 repository tokens in gh/acme (leave 288 alone)? [y/N] ".
std::string confirmation_question(const PlanCounts& counts, const std::string& where);
// y, Y, yes, Yes, YES.
bool is_yes(const std::string& answer);

// True when a token's name belongs to the family of `base`: `base` itself (made by hand or by another
// tool) or `base` + "-" + 12 characters [a-z0-9] (made by provision).
bool in_token_family(const std::string& token_name, const std::string& base);

}  // namespace rt::cli
