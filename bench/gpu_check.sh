#!/usr/bin/env bash
# The one command for the GPU machine: every test (the CUDA ones run there), compute-sanitizer
# memcheck over the CUDA tests (racecheck and initcheck over the kernel tests), kiln's kernel and end-to-end benchmarks, and the PyTorch
# reference measuring the same work on the same GPU; prints a comparison table last and
# writes everything under $OUT (default: ./gpu-check-out).
# Expects the binaries of scripts/make_gpu_bundle.sh in gpu-bundle/ (built here for sm_90 and
# carried to the GPU machine). Sized to finish in a few minutes; KILN_CHECK_QUICK=1 trims it.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
BIN=${KILN_BUNDLE:-gpu-bundle}
quick=${KILN_CHECK_QUICK:-0}
status=0
# The test binary finds fixtures and the kiln program through these on a machine other than
# the one that built it.
export KILN_SOURCE_DIR=$(pwd) KILN_BINARY=$(pwd)/$BIN/kiln

echo "== device"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/device.txt"

echo "== tests"
"$BIN/kiln_tests" --gtest_brief=1 >"$OUT/tests.log" 2>&1
tests_rc=$?
tail -n 5 "$OUT/tests.log"
[ $tests_rc -eq 0 ] || status=1

echo "== compute-sanitizer memcheck (CUDA tests)"
cuda_filter='*Cuda*:*cuda*:*CUDA*:*Curand*:*Graph*'
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -x "$sanitizer" ]; then
  "$sanitizer" --tool memcheck --error-exitcode 9 "$BIN/kiln_tests" --gtest_filter="$cuda_filter" --gtest_brief=1 \
    >"$OUT/memcheck.log" 2>&1
  mem_rc=$?
  grep -E "ERROR SUMMARY|PASSED|FAILED" "$OUT/memcheck.log" | tail -n 3
  [ $mem_rc -eq 0 ] || status=1
  if [ "$quick" != 1 ]; then
    # Shared-memory races (the convolution's double buffer, the reductions) and reads of
    # uninitialised device memory, over the kernel tests only (they are the slow tools).
    kernel_filter='*Conv2dCuda*:*BatchNorm*cuda*:*Pooling*cuda*:*Reduce*cuda*:*CrossEntropy.Cuda*:*AssignSemantics*cuda*'
    for tool in racecheck initcheck; do
      "$sanitizer" --tool $tool --error-exitcode 9 "$BIN/kiln_tests" --gtest_filter="$kernel_filter" --gtest_brief=1 \
        >"$OUT/$tool.log" 2>&1 || status=1
      echo "$tool: $(grep -E "ERROR SUMMARY" "$OUT/$tool.log" | tail -n 1)"
    done
  fi
else
  echo "compute-sanitizer not found" | tee "$OUT/memcheck.log"
fi

echo "== kiln benchmarks"
q=""; [ "$quick" = 1 ] && q="--quick"
"$BIN/kiln_bench_kernels" $q >"$OUT/kiln_kernels.jsonl" 2>"$OUT/kiln_kernels.err" || status=1
"$BIN/kiln_bench_e2e" $q >"$OUT/kiln_e2e.jsonl" 2>"$OUT/kiln_e2e.err" || status=1

echo "== PyTorch reference"
PYTHONUNBUFFERED=1 python3 bench/pytorch_reference.py $q >"$OUT/torch.jsonl" 2>"$OUT/torch.err" || status=1

echo "== summary (kiln vs PyTorch, same GPU, same call)"
python3 bench/compare.py "$OUT/kiln_kernels.jsonl" "$OUT/kiln_e2e.jsonl" "$OUT/torch.jsonl" | tee "$OUT/summary.md"
exit $status
