// What `repotokensd routes` prints: the route table read against Codacy's operation table, each Codacy
// operation served, partly served (with what is missing) or 501, and our own routes beside them.
// docs/compatibility.md is this output (scripts/compatibility-doc), never typed by hand.
#pragma once

#include <string>
#include <string_view>

#include "server/router.h"

namespace rt::server {

enum class RoutesFormat { tsv, markdown };

// tsv: one line per route, "status<TAB>METHOD<TAB>path<TAB>name<TAB>note" with status one of served,
// partial, not-implemented (Codacy operations) or extension (ours: the repotokens extensions, /2.0 legacy,
// /metrics). markdown: the same as the tables of docs/compatibility.md.
std::string render_routes(const Router& router, RoutesFormat format);

// What a served Codacy operation lacks (the notes next to the route table, compatibility.cc), or empty
// when it is served whole.
std::string_view partly_served_note(std::string_view operation_id);

}  // namespace rt::server
