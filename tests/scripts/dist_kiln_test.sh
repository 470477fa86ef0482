#!/usr/bin/env bash
# `mpirun -np 2 kiln <experiment>` end to end, on the CPU: the run trains and tests with only
# rank 0 printing and writing; a run stopped after one epoch and resumed from rank 0's
# checkpoint logs the same epochs and reaches the same test accuracy as a run that was never
# stopped; and when one rank is killed mid-run the whole run ends within a bounded time,
# saying so, and the checkpoint it had written still resumes.
# Usage: dist_kiln_test.sh MPIEXEC "FLAG;FLAG" KILN
set -uo pipefail
mpiexec=$1 flags=$2 kiln=$3
IFS=';' read -r -a flag_list <<<"$flags"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "dist_kiln_test: FAILED: $*"
  exit 1
}
run2() { KILN_DIST_TIMEOUT=60 OMP_NUM_THREADS=1 timeout 300 "$mpiexec" "${flag_list[@]}" -np 2 "$@" 2>&1; }
args=(early-stopping --device cpu --limit 200 --test-limit 100 --quiet)
log_rows() { tail -n +2 "$1" | cut -d, -f1-5; }  # epoch, losses and accuracies, not the seconds

# 1. Trains data-parallel; one process prints, one writes.
out=$(run2 "$kiln" "${args[@]}" --epochs 3 --out "$work/straight") || fail "the run failed: $out"
echo "$out"
[ "$(grep -c '^kiln: ' <<<"$out")" -eq 1 ] || fail "the headline was printed other than once"
straight_headline=$(grep '^kiln: ' <<<"$out")
[ "$(log_rows "$work/straight/early_stopping_log.csv" | wc -l)" -eq 3 ] || fail "the log does not hold 3 epochs"
for f in early_stopping_last.ckpt early_stopping_best.safetensors loss_curves.png confusion_matrix.png; do
  [ -s "$work/straight/$f" ] || fail "rank 0 did not write $f"
done
! ls "$work/straight" | grep -q '\.tmp\.' || fail "temporary files were left behind"

# 2. One epoch, then resumed to three: the same epochs and the same test accuracy.
run2 "$kiln" "${args[@]}" --epochs 1 --out "$work/resumed" >/dev/null || fail "the first part failed"
out=$(run2 "$kiln" "${args[@]}" --epochs 3 --resume "$work/resumed/early_stopping_last.ckpt" --out "$work/resumed") ||
  fail "the resumed run failed: $out"
grep -q "resumed from .* after epoch 1" <<<"$out" || fail "the run did not say it resumed: $out"
diff <(log_rows "$work/straight/early_stopping_log.csv") <(log_rows "$work/resumed/early_stopping_log.csv") ||
  fail "the resumed run's log differs from the uninterrupted run's"
[ "$(grep '^kiln: ' <<<"$out")" = "$straight_headline" ] ||
  fail "the resumed run's headline differs: $(grep '^kiln: ' <<<"$out") vs $straight_headline"

# 3. Rank 1 is killed once rank 0 has saved a checkpoint: the run ends, saying which rank
#    died, and that checkpoint resumes in one process.
ckpt=$work/killed/early_stopping_last.ckpt
start=$(date +%s)
out=$(run2 bash -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then
                      (while [ ! -e "$0" ]; do sleep 0.2; done; sleep 0.5; kill -9 $$) &
                    fi
                    exec "$@"' "$ckpt" "$kiln" "${args[@]}" --epochs 200 --out "$work/killed")
status=$?
elapsed=$(($(date +%s) - start))
echo "$out" | tail -n 20
echo "dist_kiln_test: the run with a killed rank exited $status after ${elapsed} s"
[ "$status" -ne 0 ] || fail "the run exited 0"
[ "$status" -ne 124 ] || fail "the run was still going after 300 s"
grep -Eq "process rank 1 .*exited on signal 9|rank 0 of 2 \(mpi\).*did not finish within" <<<"$out" ||
  fail "no message saying which rank died"
epochs=$(log_rows "$work/killed/early_stopping_log.csv" | wc -l)
[ "$epochs" -ge 1 ] || fail "no epoch was logged before the kill"
out=$(OMP_NUM_THREADS=1 "$kiln" "${args[@]}" --epochs "$epochs" --resume "$ckpt" --out "$work/killed" 2>&1) ||
  fail "the checkpoint left by the killed run does not resume: $out"
grep -Eq "resumed from|already done" <<<"$out" || fail "the run did not resume: $out"
echo "dist_kiln_test: PASSED"
