// Portability macros shared by host C++ and CUDA sources.
#pragma once

// Marks a function callable from both host and device code (for code shared by the CPU
// reference and the CUDA kernel: Philox, elementwise functors, index math).
#if defined(__CUDACC__)
#define KILN_HD __host__ __device__
#define KILN_FORCEINLINE __forceinline__
#else
#define KILN_HD
#define KILN_FORCEINLINE inline __attribute__((always_inline))
#endif
