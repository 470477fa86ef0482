// On/off switches read from the environment (see env_switch.h).
#include "core/env_switch.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace kiln {

bool parse_env_switch(const char* name, const char* value) {
  if (value == nullptr) return false;
  const std::string v(value);
  if (v == "1") return true;
  if (v.empty() || v == "0") return false;
  KILN_FAIL(name, "=", v, ": expected 1 (on) or 0 (off)");
}

bool env_switch(const char* name) { return parse_env_switch(name, std::getenv(name)); }

}  // namespace kiln
