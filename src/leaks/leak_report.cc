// The names of the channels a leaked-token report arrives by (leaks/leak_report.h), as audited and counted.
#include "leaks/leak_report.h"

namespace rt {

const char* leak_channel_name(LeakChannel channel) {
  switch (channel) {
    case LeakChannel::anyone: return "anyone";
    case LeakChannel::github: return "github";
    case LeakChannel::gitlab: return "gitlab";
  }
  return "anyone";
}

}  // namespace rt
