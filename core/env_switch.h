// On/off switches read from the environment (KILN_NO_CUDA_CACHING, KILN_NO_REEXEC). One parser
// for all of them, strict on purpose: a debugging switch that a misspelt value silently leaves
// off would make a sanitizer run check something other than what its user asked for.
#pragma once

namespace kiln {

// `value` is the variable's value (nullptr when unset). "1" is on; unset, "" and "0" are off;
// anything else throws kiln::Error naming the variable and the accepted values.
bool parse_env_switch(const char* name, const char* value);

// parse_env_switch(name, getenv(name)).
bool env_switch(const char* name);

}  // namespace kiln
