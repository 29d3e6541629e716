// The operations of Codacy's OpenAPI document (spec/codacy/codacy-openapi.yaml), as generated into
// codacy_operations.inc by scripts/codacy-operations: what the router answers 501 for when no served
// route carries the operation's id, and what `repotokensd routes` reports on.
#pragma once

#include <span>

#include "server/api.h"

namespace rt::server {

struct CodacyOperation {
  Method method;
  const char* path;          // under /api/v3, with Codacy's parameter names ("{remoteOrganizationName}")
  const char* operation_id;  // Codacy's operationId; a served route for it carries the same name
};

// All of them, literal segments before parameters (the order the router needs for its 501 routes).
std::span<const CodacyOperation> codacy_operations();

}  // namespace rt::server
