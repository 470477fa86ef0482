// See cpu_variants.h.
#include "core/ops/cpu_variants.h"

#include "core/env_switch.h"

namespace kiln {

bool cpu_fast_kernels_enabled() {
  static const bool enabled = !env_switch("KILN_CPU_REFERENCE_KERNELS");
  return enabled;
}

}  // namespace kiln
