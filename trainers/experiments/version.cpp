// The version string, filled in by CMake at configure time (KILN_GIT_DESCRIBE).
#include "trainers/experiments/version.h"

namespace kiln {
const char* kiln_version() { return KILN_VERSION_STRING; }
}  // namespace kiln
