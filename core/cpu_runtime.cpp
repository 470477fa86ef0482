// CPU run-time tuning (see cpu_runtime.h).
#include "core/cpu_runtime.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace kiln {

const char* blas_core_name() { return openblas_get_corename(); }

void tune_cpu_runtime(char** argv) {
  if (std::getenv("KILN_NO_CPU_TUNING") || std::getenv("KILN_CPU_TUNED")) return;
  bool changed = false;
  if (!std::getenv("OPENBLAS_CORETYPE") && std::strcmp(openblas_get_corename(), "Prescott") == 0) {
    __builtin_cpu_init();
    const char* core = nullptr;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
      core = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      core = "Haswell";
    if (core) {
      setenv("OPENBLAS_CORETYPE", core, 1);
      changed = true;
    }
  }
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    changed = true;
  }
  if (!changed) return;
  setenv("KILN_CPU_TUNED", "1", 1);  // never re-execute twice
  execv("/proc/self/exe", argv);
  // If the re-exec fails the program simply continues with the libraries' defaults.
}

}  // namespace kiln
