// The one place an op chooses between kernels/cpu and kernels/cuda. Without the CUDA
// backend no CUDA tensor can exist, so the CUDA branch reduces to an error that is never
// reached; keeping it a macro lets ops name their cuda:: kernel unconditionally.
#pragma once

#include "core/error.h"

#if KILN_HAS_CUDA
#define KILN_ON_CUDA(...) (__VA_ARGS__)
#else
#define KILN_ON_CUDA(...) KILN_FAIL("kiln was built without CUDA support")
#endif

// Runs `cpu_call` for CPU tensors and `cuda_call` for CUDA tensors of `device`.
#define KILN_DISPATCH_DEVICE(device, cpu_call, cuda_call) \
  do {                                                     \
    if ((device).is_cpu()) {                               \
      cpu_call;                                            \
    } else {                                               \
      KILN_ON_CUDA(cuda_call);                             \
    }                                                      \
  } while (0)
