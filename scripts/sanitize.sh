#!/usr/bin/env bash
# The CPU test suite under AddressSanitizer and UndefinedBehaviorSanitizer (the CUDA backend
# is left out: the sanitizers do not see device code; compute-sanitizer covers it on a GPU,
# see bench/gpu_check.sh). Fails on any test failure or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_SANITIZE=ON -DKILN_WITH_CUDA=OFF \
  -DKILN_BUILD_TESTS=ON -DKILN_BUILD_BENCH=OFF -DKILN_USE_CCACHE=ON >/dev/null
cmake --build build-asan -j "${KILN_JOBS:-$(nproc)}"
# Leak checking on; abort on the first UBSan report so ctest sees the failure. OpenMP's and
# OpenBLAS's thread pools are torn down at exit without freeing: suppress those two.
cat > build-asan/lsan.supp <<'SUPP'
leak:libgomp
leak:libopenblas
SUPP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(pwd)/build-asan/lsan.supp \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j "${KILN_JOBS:-$(nproc)}"
