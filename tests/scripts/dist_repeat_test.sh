#!/usr/bin/env bash
# Two separate launches of the same 2-process training end with the same parameters, bit for
# bit: kiln_dist_tests' data-parallel run, launched twice under mpirun, writes rank 0's final
# parameters (KILN_DIST_TEST_DUMP) and the two files must be identical.
# Usage: dist_repeat_test.sh MPIEXEC "FLAG;FLAG" KILN_DIST_TESTS
set -uo pipefail
mpiexec=$1 flags=$2 binary=$3
IFS=';' read -r -a flag_list <<<"$flags"
work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-dist-repeat.XXXXXX")
trap 'rm -rf "$work"' EXIT
for run in 1 2; do
  KILN_DIST_TEST_DUMP="$work/run$run.bin" KILN_DIST_TIMEOUT=60 OMP_NUM_THREADS=1 \
    "$mpiexec" "${flag_list[@]}" -np 2 "$binary" --gtest_filter='DataParallel.RepeatedRuns*' >"$work/log$run" 2>&1 ||
    { cat "$work/log$run"; echo "dist_repeat_test: FAILED: launch $run failed"; exit 1; }
  [ -s "$work/run$run.bin" ] || { echo "dist_repeat_test: FAILED: launch $run wrote no parameters"; exit 1; }
done
if cmp "$work/run1.bin" "$work/run2.bin"; then
  echo "dist_repeat_test: PASSED ($(stat -c %s "$work/run1.bin") bytes identical)"
else
  echo "dist_repeat_test: FAILED: the two launches ended with different parameters"
  exit 1
fi
