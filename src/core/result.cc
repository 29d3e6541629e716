// Names of error kinds as they appear in the v3 error body ("error": "<Kind>").
#include "core/result.h"

namespace rt {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid: return "BadRequest";
    case ErrorKind::unauthorized: return "Unauthorized";
    case ErrorKind::expired: return "Unauthorized";
    case ErrorKind::forbidden: return "Forbidden";
    case ErrorKind::not_found: return "NotFound";
    case ErrorKind::conflict: return "Conflict";
    case ErrorKind::unprocessable: return "UnprocessableEntity";
    case ErrorKind::too_large: return "PayloadTooLarge";
    case ErrorKind::throttled: return "TooManyRequests";
    case ErrorKind::unavailable: return "ServiceUnavailable";
    case ErrorKind::internal: return "InternalServerError";
  }
  return "InternalServerError";
}

}  // namespace rt
