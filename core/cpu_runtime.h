// CPU run-time tuning that must happen before the numeric libraries initialise.
//  - OpenBLAS chooses its GEMM kernels when it loads, from the CPU model number. On CPUs it
//    does not recognise (typical of virtual machines reporting a generic "Intel Xeon
//    Processor") it falls back to its SSE3 "Prescott" kernels, about 3x slower than the
//    AVX2/AVX-512 ones the CPU supports.
//  - kiln's OpenMP loops and the threads of a pthread build of OpenBLAS share the cores;
//    OpenMP's default spin-waiting after each parallel region starves the BLAS threads. The
//    build links OpenBLAS's OpenMP build when it is installed, which runs its GEMMs on the
//    same OpenMP threads: there OpenMP's default (spin briefly, then sleep) is right, and
//    passive waiting made a ResNet-18 CPU step 10% slower, sometimes 60% (bench/RESULTS.md).
// tune_cpu_runtime() detects both, sets OPENBLAS_CORETYPE (from the CPU's feature flags) and,
// with a pthread build only, OMP_WAIT_POLICY=passive where the user has not set them, and
// re-executes the program once
// so the libraries start with them. Call it first thing in main().
//
// KILN_NO_CPU_TUNING (any value) turns all of this off. KILN_NO_REEXEC=1 keeps the settings
// for the programs this one starts but never re-executes: a tool that runs the program under
// itself (compute-sanitizer, a debugger) then keeps watching the process it started. A CUDA
// tool injected through the driver (CUDA_INJECTION64_PATH set) is recognised and has the same
// effect.
#pragma once

namespace kiln {

void tune_cpu_runtime(char** argv);

// Whether tune_cpu_runtime may re-execute the program (see above). An invalid KILN_NO_REEXEC
// value throws kiln::Error.
bool cpu_tuning_may_reexec();

// The OpenBLAS kernel family in use (e.g. "SkylakeX", "Haswell", "Prescott").
const char* blas_core_name();
// How the OpenBLAS in use runs its threads: "sequential", "pthreads" or "openmp".
const char* blas_threading();

}  // namespace kiln
