// The process-level commands of repotokensd: serve, and the offline admin subcommands. Each returns the
// exit status (0 success, 1 failure with a one-line message on stderr).
#pragma once

#include "server/config.h"

namespace rt::server {

int run_serve(const ServeConfig& config);
int run_create_user(const AdminConfig& config);
int run_migrate(const AdminConfig& config);
int run_check(const AdminConfig& config);
int run_copy(const AdminConfig& config);
// Prints the route table against Codacy's operations (server/compatibility.h) on stdout.
int run_routes(bool markdown);

}  // namespace rt::server
