#!/usr/bin/env python3
"""Joins kiln's, cuDNN's and PyTorch's benchmark lines (same "bench" names, same GPU, same
call) into one table with the time ratios, and checks the bandwidth targets against the copy
bandwidth PyTorch measured. cuDNN's rows come from kiln_bench_kernels ("impl": "cudnn",
"baseline_for": the kiln row they are timed against).
Usage: compare.py kiln_kernels.jsonl kiln_e2e.jsonl torch.jsonl > summary.md

The inputs come from programs that may have been killed mid-line or failed part-way: a line
that is not complete JSON is skipped with a warning on stderr, a missing file is named, and a
row with an "error" field is listed under the table instead of being timed. Standard library
only, so it runs wherever python3 does.
"""
import json
import numbers
import sys


def warn(message):
    print(f"compare.py: {message}", file=sys.stderr)


def load(paths):
    """Returns (rows by bench name, failed rows by bench name, metadata) read from `paths`."""
    rows, failed, meta = {}, {}, {}
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except OSError as e:
            warn(f"{path}: {e.strerror or e}")
            continue
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue  # the programs' human-readable tables and notes
            try:
                row = json.loads(line)
            except ValueError:
                warn(f"{path}:{number}: skipped a line that is not complete JSON: {line[:80]!r}")
                continue
            if not isinstance(row, dict):
                warn(f"{path}:{number}: skipped a line that is not a JSON object")
                continue
            name = row.get("bench")
            if name is None:
                meta.update(row)
            elif "error" in row:
                failed[str(name)] = str(row["error"])
            else:
                rows[str(name)] = row
    return rows, failed, meta


def number(row, key):
    """The numeric field `key` of `row`, or None when it is absent or not a number."""
    value = row.get(key)
    return value if isinstance(value, numbers.Real) and not isinstance(value, bool) else None


def cell(value):
    return "-" if value is None else f"{value}"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: compare.py KILN.jsonl [KILN.jsonl ...] TORCH.jsonl")
    kiln, kiln_failed, kiln_meta = load(sys.argv[1:-1])
    torch, torch_failed, meta = load(sys.argv[-1:])
    cudnn = {}  # kiln row name -> the cuDNN row timed against it
    for name in [n for n, row in kiln.items() if row.get("impl") == "cudnn"]:
        row = kiln.pop(name)
        cudnn[str(row.get("baseline_for", name))] = row
    print(f"PyTorch {meta.get('torch', '?')} (its cuDNN {meta.get('cudnn', '?')}), "
          f"kiln's cuDNN baseline {kiln_meta.get('cudnn_version', '-')}, {meta.get('device', '?')}\n")
    print("| benchmark | kiln ms | cuDNN ms | PyTorch ms | kiln / cuDNN | kiln / PyTorch | kiln TFLOP/s | kiln GB/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    names = set(kiln) | set(torch)
    is_memory = {n: "mib" in kiln.get(n, {}) or "mib" in torch.get(n, {}) for n in names}
    for name in sorted(n for n in names if not is_memory[n]):
        k, t = kiln.get(name, {}), torch.get(name, {})
        km, cm, tm = number(k, "ms"), number(cudnn.get(name, {}), "ms"), number(t, "ms")
        print(f"| {name} | {cell(km)} | {cell(cm)} | {cell(tm)} | {ratio(km, cm)} | {ratio(km, tm)} | "
              f"{number(k, 'tflops') or '-'} | {number(k, 'gbps') or '-'} |")
    memory = sorted(n for n in names if is_memory[n])
    if memory:
        print("\n| peak device memory | kiln MiB | PyTorch MiB | kiln / PyTorch |\n|---|---:|---:|---:|")
        for name in memory:
            km, tm = number(kiln.get(name, {}), "mib"), number(torch.get(name, {}), "mib")
            print(f"| {name} | {cell(km)} | {cell(tm)} | {ratio(km, tm)} |")
    copy = number(torch.get("copy_512MB", {}), "gbps")
    if copy:
        print(f"\nPyTorch copy bandwidth: {copy} GB/s. kiln's bandwidth-bound kernels as a fraction of it:")
        for name, target in [("add_512MB", 0.85), ("copy_512MB", 0.85), ("batchnorm_fwd_train", 0.70),
                             ("batchnorm_fwdbwd_train", 0.70), ("cross_entropy_smooth_fwd_grad", 0.70),
                             ("dropout_64MB", 0.80)]:
            g = number(kiln.get(name, {}), "gbps")
            if g:
                print(f"- {name}: {g / copy:.2f} (target {target:.2f}) {'met' if g / copy >= target else 'MISSED'}")
    if kiln_failed or torch_failed:
        print("\nFailed rows (the program printed an error instead of a time):")
        for side, failed in (("kiln", kiln_failed), ("PyTorch", torch_failed)):
            for name in sorted(failed):
                first_line = failed[name].splitlines()[0] if failed[name] else ""
                print(f"- {side} {name}: {first_line[:200]}")


if __name__ == "__main__":
    main()
