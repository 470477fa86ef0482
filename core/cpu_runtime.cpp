// CPU run-time tuning (see cpu_runtime.h).
#include "core/cpu_runtime.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/env_switch.h"
#include "core/error.h"

namespace kiln {

const char* blas_core_name() { return openblas_get_corename(); }

const char* blas_threading() {
  switch (openblas_get_parallel()) {
    case 0:
      return "sequential";
    case 1:
      return "pthreads";
    default:
      return "openmp";
  }
}

bool cpu_tuning_may_reexec() {
  if (env_switch("KILN_NO_REEXEC")) return false;
  const char* injected = std::getenv("CUDA_INJECTION64_PATH");
  return injected == nullptr || *injected == '\0';
}

void tune_cpu_runtime(char** argv) {
  if (std::getenv("KILN_NO_CPU_TUNING") || std::getenv("KILN_CPU_TUNED")) return;
  bool may_reexec = false;
  try {
    may_reexec = cpu_tuning_may_reexec();
  } catch (const Error& e) {
    // main() has not reached its error handling yet; say it on one line and stay in this process.
    std::fprintf(stderr, "kiln: warning: %s; not re-executing for CPU tuning\n", e.what());
  }
  bool changed = false;
  if (!std::getenv("OPENBLAS_CORETYPE") && std::strcmp(openblas_get_corename(), "Prescott") == 0) {
    __builtin_cpu_init();
    const char* core = nullptr;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
      core = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      core = "Haswell";
    if (core) {
      setenv("OPENBLAS_CORETYPE", core, 1);
      changed = true;
    }
  }
  if (!std::getenv("OMP_WAIT_POLICY") && std::strcmp(blas_threading(), "pthreads") == 0) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    changed = true;
  }
  // Without the re-exec this process keeps the libraries' defaults; the settings above still
  // reach the programs it starts (the CLI tests' `kiln` runs), which then find nothing to change.
  if (!changed || !may_reexec) return;
  setenv("KILN_CPU_TUNED", "1", 1);  // never re-execute twice
  execv("/proc/self/exe", argv);
  // If the re-exec fails the program simply continues with the libraries' defaults.
}

}  // namespace kiln
