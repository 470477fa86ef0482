// kiln's version string: the project version and, when built from a git checkout, the commit.
#pragma once

namespace kiln {
const char* kiln_version();
}
