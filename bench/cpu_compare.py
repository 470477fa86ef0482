#!/usr/bin/env python3
"""Joins the CPU step times of kiln (kiln_bench_e2e --device cpu) and PyTorch
(pytorch_reference.py --device cpu), measured in alternating rounds of one
bench/cpu_compare.sh call, into one Markdown table: the median over rounds of each
program's per-round median, the spread over rounds (min-max, the noise of the machine) and
the kiln / PyTorch ratio. Standard library only.
Usage: cpu_compare.py ROUNDS_DIR   (holds kiln.N.jsonl and torch.N.jsonl, N = 1, 2, ...)
"""
import glob
import json
import os
import statistics
import sys

STEPS = [("resnet18_step_b32", "ResNet-18 train step, batch 32, Adam"),
         ("mnist_pseudo_label_step", "MNIST Net pseudo-label step (128 + 256)"),
         ("regressor_step_b32", "Regressor step, batch 32")]
MEMORY = [("resnet18_step_b32_rss_before", "ResNet-18 b32: resident before the step"),
          ("resnet18_step_b32_peak_rss", "ResNet-18 b32: peak resident during the step")]


def load(pattern):
    """{bench: [value per round]} from every file matching pattern; failed rows are named."""
    values, failed = {}, set()
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                name = row.get("bench")
                if name is None:
                    continue
                if "error" in row:
                    failed.add(name)
                    continue
                value = row.get("ms", row.get("mib"))
                if isinstance(value, (int, float)):
                    values.setdefault(name, []).append(float(value))
    return values, failed


def fmt(values, digits):
    if not values:
        return "—", "—"
    med = statistics.median(values)
    spread = f"{min(values):.{digits}f}–{max(values):.{digits}f}" if len(values) > 1 else "—"
    return f"{med:.{digits}f}", spread


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    rounds = sys.argv[1]
    kiln, kiln_failed = load(os.path.join(rounds, "kiln.*.jsonl"))
    torch, torch_failed = load(os.path.join(rounds, "torch.*.jsonl"))
    print("| step | kiln ms (median) | kiln spread | PyTorch ms (median) | PyTorch spread | kiln / PyTorch |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, label in STEPS:
        k, t = kiln.get(name, []), torch.get(name, [])
        digits = 3 if name.startswith("regressor") else 1
        km, ks = fmt(k, digits)
        tm, ts = fmt(t, digits)
        ratio = f"{statistics.median(k) / statistics.median(t):.2f}x" if k and t else "—"
        print(f"| {label} | {km} | {ks} | {tm} | {ts} | {ratio} |")
    print()
    print("| memory | kiln MiB | PyTorch MiB |")
    print("|---|---:|---:|")
    for name, label in MEMORY:
        print(f"| {label} | {fmt(kiln.get(name, []), 1)[0]} | {fmt(torch.get(name, []), 1)[0]} |")
    k = [p - b for p, b in zip(kiln.get(MEMORY[1][0], []), kiln.get(MEMORY[0][0], []))]
    t = [p - b for p, b in zip(torch.get(MEMORY[1][0], []), torch.get(MEMORY[0][0], []))]
    print(f"| ResNet-18 b32: the step's own growth (peak - before) | {fmt(k, 1)[0]} | {fmt(t, 1)[0]} |")
    for who, failed in (("kiln", kiln_failed), ("PyTorch", torch_failed)):
        for name in sorted(failed):
            print(f"\n{who}: {name} FAILED (see the logs)")
    return 1 if kiln_failed or torch_failed else 0


if __name__ == "__main__":
    sys.exit(main())
