#!/usr/bin/env python3
"""Joins kiln's and PyTorch's benchmark lines (same "bench" names, same GPU, same call) into
one table with the time ratio, and checks the bandwidth targets against the copy bandwidth
PyTorch measured. Usage: compare.py kiln_kernels.jsonl kiln_e2e.jsonl torch.jsonl > summary.md
"""
import json
import sys


def load(paths):
    rows = {}
    meta = {}
    for path in paths:
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if not line.startswith("{"):
                        continue
                    row = json.loads(line)
                    if "bench" in row:
                        rows[row["bench"]] = row
                    else:
                        meta.update(row)
        except FileNotFoundError:
            pass
    return rows, meta


def main():
    kiln, _ = load(sys.argv[1:-1])
    torch, meta = load(sys.argv[-1:])
    print(f"PyTorch {meta.get('torch', '?')}, cuDNN {meta.get('cudnn', '?')}, {meta.get('device', '?')}\n")
    print("| benchmark | kiln ms | PyTorch ms | kiln / PyTorch | kiln TFLOP/s | kiln GB/s |")
    print("|---|---:|---:|---:|---:|---:|")
    timed = sorted(n for n in set(kiln) | set(torch) if "mib" not in kiln.get(n, {}) and "mib" not in torch.get(n, {}))
    for name in timed:
        k, t = kiln.get(name, {}), torch.get(name, {})
        km, tm = k.get("ms"), t.get("ms")
        ratio = f"{km / tm:.2f}" if km and tm else "-"
        print(f"| {name} | {km if km is not None else '-'} | {tm if tm is not None else '-'} | {ratio} | "
              f"{k.get('tflops') or '-'} | {k.get('gbps') or '-'} |")
    memory = sorted(n for n in set(kiln) | set(torch) if "mib" in kiln.get(n, {}) or "mib" in torch.get(n, {}))
    if memory:
        print("\n| peak device memory | kiln MiB | PyTorch MiB | kiln / PyTorch |\n|---|---:|---:|---:|")
        for name in memory:
            km, tm = kiln.get(name, {}).get("mib"), torch.get(name, {}).get("mib")
            ratio = f"{km / tm:.2f}" if km and tm else "-"
            print(f"| {name} | {km if km is not None else '-'} | {tm if tm is not None else '-'} | {ratio} |")
    copy = torch.get("copy_512MB", {}).get("gbps")
    if copy:
        print(f"\nPyTorch copy bandwidth: {copy} GB/s. kiln's bandwidth-bound kernels as a fraction of it:")
        for name, target in [("add_512MB", 0.85), ("copy_512MB", 0.85), ("batchnorm_fwd_train", 0.70),
                             ("batchnorm_fwdbwd_train", 0.70), ("cross_entropy_smooth_fwd_grad", 0.70),
                             ("dropout_64MB", 0.80)]:
            g = kiln.get(name, {}).get("gbps")
            if g:
                print(f"- {name}: {g / copy:.2f} (target {target:.2f}) {'met' if g / copy >= target else 'MISSED'}")


if __name__ == "__main__":
    main()
