#!/usr/bin/env bash
# A two-process run where the last rank hangs (stops calling collectives) or dies (SIGKILL)
# must end, every process of it, with a non-zero status within a bounded time, and say why:
# kiln's deadline message naming the collective and the rank for a hang, mpirun's report of
# the killed rank for a death. Usage: dist_failure_test.sh {hang|die} MPIEXEC "FLAG;FLAG" BINARY
set -uo pipefail
mode=$1 mpiexec=$2 flags=$3 binary=$4
IFS=';' read -r -a flag_list <<<"$flags"

# The deadline is 2 s and the hanging rank sleeps 60 s: finishing within 30 s shows the run
# was ended by the deadline, not by the sleep running out.
start=$(date +%s)
output=$(KILN_DIST_TIMEOUT=2 OMP_NUM_THREADS=1 timeout 90 "$mpiexec" "${flag_list[@]}" -np 2 "$binary" "$mode" 2>&1)
status=$?
elapsed=$(($(date +%s) - start))
echo "$output"
echo "dist_failure_test: $mode: exit status $status after ${elapsed} s"

fail() {
  echo "dist_failure_test: FAILED: $*"
  exit 1
}
[ "$status" -ne 0 ] || fail "the run exited 0"
[ "$status" -ne 124 ] || fail "the run was still going after 90 s"
[ "$elapsed" -lt 30 ] || fail "the run took ${elapsed} s to end"
case $mode in
  hang)
    grep -q "all_reduce of 1 float32 (sum) on rank 0 of 2 (mpi) did not finish within 2 s (KILN_DIST_TIMEOUT)" \
      <<<"$output" || fail "no deadline message naming the collective and the rank" ;;
  die)
    # mpirun ends the job as soon as it sees the death; if a rank noticed first, kiln's message.
    grep -Eq "process rank 1 .*exited on signal 9|failed on rank 0 of 2 \(mpi\)|did not finish within" \
      <<<"$output" || fail "no message saying which rank died" ;;
  *) fail "unknown mode $mode" ;;
esac
! grep -q "finished every collective" <<<"$output" || fail "a rank finished without seeing the failure"
echo "dist_failure_test: $mode: PASSED"
