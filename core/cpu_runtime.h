// CPU run-time tuning that must happen before the numeric libraries initialise.
//  - OpenBLAS chooses its GEMM kernels when it loads, from the CPU model number. On CPUs it
//    does not recognise (typical of virtual machines reporting a generic "Intel Xeon
//    Processor") it falls back to its SSE3 "Prescott" kernels, about 3x slower than the
//    AVX2/AVX-512 ones the CPU supports.
//  - kiln's OpenMP loops and OpenBLAS's own threads share the cores; OpenMP's default
//    spin-waiting after each parallel region starves the BLAS threads.
// tune_cpu_runtime() detects both, sets OPENBLAS_CORETYPE (from the CPU's feature flags) and
// OMP_WAIT_POLICY=passive where the user has not set them, and re-executes the program once
// so the libraries start with them. Call it first thing in main().
#pragma once

namespace kiln {

void tune_cpu_runtime(char** argv);

// The OpenBLAS kernel family in use (e.g. "SkylakeX", "Haswell", "Prescott").
const char* blas_core_name();

}  // namespace kiln
