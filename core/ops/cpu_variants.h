// The one switch between kiln's CPU reference kernels and their faster variants: the ops
// choose a variant (kernels/cpu/*_fast, *_vectorized) where it applies, unless
// KILN_CPU_REFERENCE_KERNELS=1 asks for the plain loops everywhere, to time the two in one
// build or to rule a variant out when a result looks wrong.
#pragma once

namespace kiln {

// False when KILN_CPU_REFERENCE_KERNELS=1 (read once).
bool cpu_fast_kernels_enabled();

}  // namespace kiln
