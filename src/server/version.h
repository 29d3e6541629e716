// The version repotokensd reports (/api/v3/version, --version, the startup line).
#pragma once

#ifndef REPOTOKENS_VERSION
#define REPOTOKENS_VERSION "0.1.0"  // keep in step with project(... VERSION) in CMakeLists.txt
#endif
