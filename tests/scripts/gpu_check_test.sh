#!/usr/bin/env bash
# bench/gpu_check.sh and bench/compare.py on a machine without a GPU: the library step stops the
# check and names a missing library; the stage selector runs only what it names; a step past
# its limit or the deadline is marked TIMEOUT and the check goes on; the three output files are
# written; compare.py survives a truncated line. Steps run stand-in commands
# (KILN_CHECK_STANDIN), and the bundle's programs are tiny ones compiled here.
# Usage: gpu_check_test.sh [C++ compiler]   (ctest passes CMake's)
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${1:-c++}
work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-gpu-check-test.XXXXXX")
failures=0
# A failed run keeps its files for a look.
trap 'if [ $failures = 0 ]; then rm -rf "$work"; else echo "(files kept in $work)"; fi' EXIT
check() {  # check DESCRIPTION COMMAND...: one line per expectation
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failures=$((failures + 1)); fi
}
has() { grep -qE -- "$2" "$1"; }
lacks() { ! grep -qE -- "$2" "$1"; }
programs=(kiln kiln_tests kiln_bench_kernels kiln_bench_e2e)

# Programs that start and exit 0, and one that needs a library that no longer exists.
cd "$work" || exit 1
echo 'int main() { return 0; }' >ok.cpp
echo 'int kiln_gone() { return 0; }' >gone.cpp
echo 'int kiln_gone(); int main() { return kiln_gone(); }' >needs_gone.cpp
"$cxx" ok.cpp -o ok && "$cxx" -shared -fPIC gone.cpp -o libkiln_gone.so &&
  "$cxx" needs_gone.cpp -o needs_gone -L. -lkiln_gone || { echo "FAILED: cannot compile the stand-in programs"; exit 1; }
# The library kept only where a GPU machine may keep CUDA's: a pip wheel's nvidia/*/lib folder
# on python's path, and a folder named in KILN_CUDA_LIB_DIRS.
mkdir -p site/nvidia/fake/lib cudalibs
cp libkiln_gone.so site/nvidia/fake/lib/ && mv libkiln_gone.so cudalibs/
mkdir good bad
for p in "${programs[@]}"; do cp ok "good/$p" && cp ok "bad/$p"; done
cp needs_gone bad/kiln_tests
python3 -c 'import sys, tarfile
with tarfile.open(sys.argv[1], "w:xz") as t:
    t.add(sys.argv[2], arcname=".")' good.tar.xz good

# The stand-in for every step: logs which step ran with which switches, then behaves as the
# variables below say. compare runs for real (it is given the real command after the name).
cat >standin.sh <<'STANDIN'
#!/usr/bin/env bash
step=$1
shift
echo "$step" >>"$STANDIN_LOG"
echo "standin $step: sync=${KILN_SYNC_LAUNCHES:-} no_caching=${KILN_NO_CUDA_CACHING:-} no_reexec=${KILN_NO_REEXEC:-}"
case "$step" in
  tests)
    if [ "${STANDIN_TESTS:-}" = skipped ]; then
      printf 'x.cpp:2: Skipped\nno CUDA device available\n\n[  SKIPPED ] Fake.NeedsCuda (0 ms)\n'
      printf '[==========] 2 tests from 1 test suite ran. (0 ms total)\n[  PASSED  ] 1 test.\n[  SKIPPED ] 1 test, listed below:\n'
      exit 0
    fi
    sleep "${STANDIN_TESTS_SLEEP:-0}"
    printf '[ RUN      ] Fake.Passes\n[       OK ] Fake.Passes (0 ms)\n[ RUN      ] Fake.Fails\n'
    printf 'x.cpp:1: Failure\n[  FAILED  ] Fake.Fails (1 ms)\n[==========] 2 tests from 1 test suite ran. (1 ms total)\n'
    printf '[  PASSED  ] 1 test.\n[  FAILED  ] 1 test, listed below:\n[  FAILED  ] Fake.Fails\n'
    exit 1 ;;
  bench_kernels) echo '{"bench": "copy_512MB", "ms": 1.0, "gbps": 1000.0}' ;;
  bench_e2e)
    echo "e2e's last words" >&2
    sleep "${STANDIN_E2E_SLEEP:-0}"
    echo '{"bench": "resnet18_step_b32", "ms": 2.0}'
    echo '{"bench": "resnet18_step_b32_graph", "error": "CUDA graph capture failed: refused"}'
    printf '{"bench": "regressor_step_b32", "m' ;;  # killed mid-line
  torch) echo "torch warns on stderr" >&2; printf '{"torch": "9.9", "device": "Fake GPU"}\n{"bench": "copy_512MB", "ms": 0.5, "gbps": 2000.0}\n{"bench": "resnet18_step_b32", "ms": 4.0}\n' ;;
  compare) exec "$@" ;;
  memcheck) echo "========= Invalid __global__ write of size 4 bytes"; echo "========= ERROR SUMMARY: 1 error"; exit 86 ;;
  *) echo "========= ERROR SUMMARY: 0 errors" ;;
esac
STANDIN
chmod +x standin.sh
export KILN_CHECK_STANDIN="$work/standin.sh"
export KILN_BUNDLE_ARCHIVE=/nonexistent  # never a real bundle lying in the checkout

# run NAME [ARGS...]: runs the check into out-NAME/ with the stand-ins, keeping its output and
# exit status; the logs archive is unpacked into out-NAME/logs/.
run() {
  local name=$1
  shift
  export STANDIN_LOG="$work/steps-$name.txt"
  : >"$STANDIN_LOG"
  local t0
  t0=$(date +%s)
  OUT="$work/out-$name" "$repo/bench/gpu_check.sh" "$@" >"$work/stdout-$name.txt" 2>&1
  echo $? >"$work/rc-$name.txt"
  echo $(($(date +%s) - t0)) >"$work/seconds-$name.txt"
  mkdir -p "$work/out-$name/logs"
  [ -f "$work/out-$name/gpu-check-logs.tar.gz" ] && tar -xzf "$work/out-$name/gpu-check-logs.tar.gz" -C "$work/out-$name/logs"
}
rc() { cat "$work/rc-$1.txt"; }
steps_ran() { tr '\n' ' ' <"$work/steps-$1.txt"; }
outputs() { find "$work/out-$1" -maxdepth 1 -type f -printf '%f\n' | sort | tr '\n' ' '; }

# 1. A missing library stops the check before any step, and says which library.
KILN_BUNDLE="$work/bad" run missing
check "missing library: non-zero exit" [ "$(rc missing)" != 0 ]
check "missing library: named on the output" has stdout-missing.txt 'libkiln_gone\.so'
check "missing library: status line names it" has out-missing/status.txt '^libraries +FAIL .*kiln_tests needs libkiln_gone\.so'
check "missing library: no step ran" [ -z "$(steps_ran missing)" ]
check "missing library: later steps NOT_RUN" has out-missing/status.txt '^tests +NOT_RUN .*libraries missing'
check "missing library: summary says where it looked" has out-missing/summary.md 'looked in'
check "missing library: no rerun line (time was not the problem)" lacks out-missing/summary.md 'gpu_check.sh --stages'
check "missing library: three output files" [ "$(outputs missing)" = "gpu-check-logs.tar.gz status.txt summary.md " ]

# 1b. ... and finds it where CUDA's libraries live on a GPU machine.
KILN_BUNDLE="$work/bad" PYTHONPATH="$work/site" run pip --stages tests
check "found library: in python's nvidia/*/lib" has out-pip/status.txt "^libraries +PASS .*LD_LIBRARY_PATH=$work/site/nvidia/fake/lib"
check "found library: the steps run" [ "$(steps_ran pip)" = "tests " ]
KILN_BUNDLE="$work/bad" KILN_CUDA_LIB_DIRS="$work/cudalibs" run dirs --stages tests
check "found library: in KILN_CUDA_LIB_DIRS" has out-dirs/status.txt "^libraries +PASS .*LD_LIBRARY_PATH=$work/cudalibs"

# 2. The stage selector runs only the chosen stages (the table comes with the benchmarks); the
#    bundle is unpacked from its archive.
KILN_BUNDLE="$work/unpacked" KILN_BUNDLE_ARCHIVE="$work/good.tar.xz" run bench --stages bench
check "stages: unpacked the bundle archive" [ -x "$work/unpacked/kiln_tests" ]
check "stages: only bench and the table ran" [ "$(steps_ran bench)" = "bench_kernels bench_e2e compare " ]
check "stages: tests marked not selected" has out-bench/status.txt '^tests +SKIP .*not selected'
check "stages: libraries resolved" has out-bench/status.txt '^libraries +PASS'
check "stages: the failed e2e row is listed" has out-bench/summary.md 'kiln resnet18_step_b32_graph: CUDA graph capture failed'
check "stages: the truncated line was skipped with a warning" has out-bench/logs/compare.err 'not complete JSON'
check "stages: success exit" [ "$(rc bench)" = 0 ]
KILN_BUNDLE="$work/good" run badstage --stages tests,warp
check "stages: an unknown stage is refused" [ "$(rc badstage)" = 2 ]
check "stages: ... with its name" has stdout-badstage.txt "unknown stage or step 'warp'"

# 3. Every stage in order: switches per step, failed tests named, sanitizer errors counted; a
#    step past its own limit is TIMEOUT and the next still runs.
KILN_BUNDLE="$work/good" STANDIN_E2E_SLEEP=30 KILN_CHECK_TIMEOUTS=bench_e2e=1 run all
check "all: every step ran, in order" \
  [ "$(steps_ran all)" = "tests bench_kernels bench_e2e torch compare memcheck racecheck initcheck " ]
check "all: a step past its limit is TIMEOUT" has out-all/status.txt '^bench_e2e +TIMEOUT .*its 1s limit'
check "all: ... and did not run on" [ "$(cat seconds-all.txt)" -lt 20 ]
check "all: tests with launches synchronised" has out-all/logs/tests.log 'sync=1 no_caching= no_reexec='
check "all: sanitizers without caching or re-exec" has out-all/logs/memcheck.log 'sync= no_caching=1 no_reexec=1'
check "all: failed test named on the output" has stdout-all.txt '\[  FAILED  \] Fake\.Fails'
check "all: failed test named in the summary" has out-all/summary.md '^- Fake\.Fails$'
check "all: tests FAIL" has out-all/status.txt '^tests +FAIL'
check "all: memcheck errors counted" has out-all/status.txt '^memcheck +ERRORS .*ERROR SUMMARY: 1 error'
check "all: memcheck report in the summary" has out-all/summary.md 'Invalid __global__ write'
check "all: racecheck passed" has out-all/status.txt '^racecheck +PASS'
check "all: PyTorch ratio in the table" has out-all/summary.md '\| copy_512MB \| 1.0 \| - \| 0.5 \| - \| 2.00 \|'
check "all: the timed-out step's stderr in the summary" has out-all/summary.md "^e2e's last words"
check "all: a passing step's stderr is not" lacks out-all/summary.md "torch warns"
check "all: rerun line for the timed-out stage" has out-all/summary.md 'gpu_check.sh --stages bench_e2e`'
check "all: non-zero exit" [ "$(rc all)" != 0 ]
check "all: raw logs archived" [ -s out-all/logs/tests.log ] && [ -s out-all/logs/kiln_kernels.jsonl ] && [ -s out-all/logs/status.txt ]
check "all: three output files" [ "$(outputs all)" = "gpu-check-logs.tar.gz status.txt summary.md " ]

# 4. The deadline cuts the running step (TIMEOUT) and leaves the rest NOT_RUN, with the line
#    that runs them.
KILN_BUNDLE="$work/good" STANDIN_TESTS_SLEEP=60 run deadline --deadline 10 --stages tests,sanitize
check "deadline: the running step is TIMEOUT" has out-deadline/status.txt "^tests +TIMEOUT .*deadline"
check "deadline: the rest is NOT_RUN" has out-deadline/status.txt '^memcheck +NOT_RUN'
check "deadline: stopped in time" [ "$(cat seconds-deadline.txt)" -lt 30 ]
check "deadline: rerun line" has out-deadline/summary.md 'gpu_check.sh --stages tests,sanitize`'

# 5. A CUDA test skipped for want of a device means kiln saw no GPU: a failure, not a pass.
KILN_BUNDLE="$work/good" STANDIN_TESTS=skipped run skipped --stages tests
check "no GPU: tests FAIL" has out-skipped/status.txt '^tests +FAIL .*no CUDA device'

# 6. compare.py alone on a truncated file, a garbled line and a missing file.
printf '{"bench": "a", "ms": 2.0}\n{"bench": "a_cudnn", "impl": "cudnn", "baseline_for": "a", "ms": 4.0}\n{"bench": "b", "ms": 1.0}\n{"bench": "c", "error": "boom"}\n{"bench": "d", "ms": 3\n' >kiln.jsonl
printf '{"torch": "9.9"}\n{"bench": "a", "ms": 1.0}\n\x00\xff{garbage\n{"bench": "b", "ms": 0.5}' >torch.jsonl
python3 "$repo/bench/compare.py" kiln.jsonl missing.jsonl torch.jsonl >compare.out 2>compare.err
check "compare: exit 0" [ $? = 0 ]
check "compare: rows joined" has compare.out '^\| a \| 2.0 \| 4.0 \| 1.0 \| 0.50 \| 2.00 \|'
check "compare: the cuDNN row is a column, not a row" lacks compare.out '^\| a_cudnn '
check "compare: the truncated line skipped with its place" has compare.err 'kiln.jsonl:5: skipped a line that is not complete JSON'
check "compare: the missing file named" has compare.err 'missing.jsonl'
check "compare: the failed row listed" has compare.out '^- kiln c: boom$'
check "compare: the truncated row not in the table" lacks compare.out '^\| d '

# 7. Every test that asks for a CUDA device (KILN_REQUIRE_CUDA, cuda_available(), ...) is one
#    the check's filter selects, or the GPU machine would never run it.
check "filter: every CUDA test is selected" python3 - "$repo" <<'SCAN'
import fnmatch, glob, re, sys
repo = sys.argv[1]
check = open(f"{repo}/bench/gpu_check.sh", encoding="utf-8").read()
selected = re.search(r"^cuda_tests='([^']*)'", check, re.M).group(1).split(":")
missed = []
for path in sorted(glob.glob(f"{repo}/tests/**/*.cpp", recursive=True) + glob.glob(f"{repo}/tests/**/*.cu", recursive=True)):
    text = open(path, encoding="utf-8", errors="replace").read()
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", "", text, flags=re.M)  # macro definitions are no test's body
    # A test's body runs to the next test, fixture or namespace end.
    heads = list(re.finditer(r"^(TEST|TEST_F|TEST_P)\(\s*(\w+)\s*,\s*(\w+)\s*\)|^(?:INSTANTIATE_|class |struct |namespace |}  // namespace)", text, re.M))
    for i, m in enumerate(heads):
        if m.group(1) not in ("TEST", "TEST_F"):
            continue  # parameterised suites name their device in each instance
        body = text[m.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        name = f"{m.group(2)}.{m.group(3)}"
        if re.search(r"REQUIRE_CUDA|cuda_available\(\)|KILN_SKIP_UNLESS_DEVICE", body) and \
                not any(fnmatch.fnmatchcase(name, p) for p in selected):
            missed.append(f"{path[len(repo) + 1:]}: {name}")
for m in missed:
    print(f"not selected by bench/gpu_check.sh's cuda_tests: {m}")
sys.exit(1 if missed else 0)
SCAN

echo
if [ $failures = 0 ]; then echo "gpu_check_test: all passed"; else echo "gpu_check_test: $failures failed"; exit 1; fi
