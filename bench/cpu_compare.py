#!/usr/bin/env python3
"""Joins the CPU step times of kiln (kiln_bench_e2e --device cpu) and PyTorch
(pytorch_reference.py --device cpu), measured in alternating rounds of one
bench/cpu_compare.sh call, into one Markdown table: the median over rounds of each
program's per-round median, the spread over rounds (min-max, the noise of the machine) and
the kiln / PyTorch ratio; then the same from each round's fastest step ("_min" rows), the
steadier figure when other work shares the machine. Standard library only.
With kiln_ref.N.jsonl files present (kiln with KILN_CPU_REFERENCE_KERNELS=1: the plain
reference kernels only), a column for them is added.
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
MEMORY = [("resnet18_step_b32_rss_before", "ResNet-18 b32: resident once model and input exist"),
          ("resnet18_step_b32_peak_rss", "ResNet-18 b32: peak resident over the steps")]


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
    ref, ref_failed = load(os.path.join(rounds, "kiln_ref.*.jsonl"))
    torch, torch_failed = load(os.path.join(rounds, "torch.*.jsonl"))
    with_ref = bool(ref) or bool(ref_failed)

    def ratio(a, b):
        return f"{statistics.median(a) / statistics.median(b):.2f}x" if a and b else "—"

    def table(suffix, title):
        print(title)
        print()
        head = "| step |" + (" kiln, reference kernels: ms (spread) |" if with_ref else "")
        head += " kiln ms (spread) | PyTorch ms (spread) | kiln / PyTorch |"
        print(head + (" reference / PyTorch |" if with_ref else ""))
        print("|---|" + "---:|" * (5 if with_ref else 3))
        for name, label in STEPS:
            k, t, r = kiln.get(name + suffix, []), torch.get(name + suffix, []), ref.get(name + suffix, [])
            digits = 3 if name.startswith("regressor") else 1
            cells = [label]
            for values in ([r] if with_ref else []) + [k, t]:
                med, spread = fmt(values, digits)
                cells.append(f"{med} ({spread})")
            cells.append(ratio(k, t))
            if with_ref:
                cells.append(ratio(r, t))
            print("| " + " | ".join(cells) + " |")
        print()

    table("", "Median step time of each round; the median and spread over rounds:")
    table("_min", "Fastest step of each round; the median and spread over rounds:")
    print("| memory | " + ("kiln, reference kernels MiB | " if with_ref else "") + "kiln MiB | PyTorch MiB |")
    print("|---|" + "---:|" * (3 if with_ref else 2))
    for name, label in MEMORY:
        cells = [label] + [fmt(d.get(name, []), 1)[0] for d in (([ref] if with_ref else []) + [kiln, torch])]
        print("| " + " | ".join(cells) + " |")
    failures = (("kiln", kiln_failed), ("kiln (reference kernels)", ref_failed), ("PyTorch", torch_failed))
    for who, failed in failures:
        for name in sorted(failed):
            print(f"\n{who}: {name} FAILED (see the logs)")
    return 1 if kiln_failed or ref_failed or torch_failed else 0


if __name__ == "__main__":
    sys.exit(main())
