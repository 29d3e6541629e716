// repotokensd: the Codacy-compatible token server. Parses the command line and runs the chosen command
// (serve, admin create-user, admin migrate, admin check, admin copy, routes); see docs/configuration.md.
#include "server/commands.h"
#include "server/config.h"

int main(int argc, char** argv) {
  rt::server::Invocation invocation;
  if (auto exit_code = rt::server::parse_command_line(argc, argv, invocation)) return *exit_code;
  switch (invocation.command) {
    case rt::server::Command::serve: return rt::server::run_serve(invocation.serve);
    case rt::server::Command::create_user: return rt::server::run_create_user(invocation.admin);
    case rt::server::Command::migrate: return rt::server::run_migrate(invocation.admin);
    case rt::server::Command::check: return rt::server::run_check(invocation.admin);
    case rt::server::Command::copy: return rt::server::run_copy(invocation.admin);
    case rt::server::Command::routes: return rt::server::run_routes(invocation.routes_markdown);
  }
  return 1;
}
