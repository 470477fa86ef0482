#!/usr/bin/env python3
"""The PyTorch side of every kiln benchmark, measured on the same GPU in the same call.

Prints one JSON object per line with the same "bench" names as kiln_bench_kernels and
kiln_bench_e2e, so bench/gpu_check.sh can put each kiln figure next to PyTorch's and report
the ratio. Convolutions run through cuDNN with PyTorch's defaults (TF32 allowed for
convolutions); "_fp32" rows disable TF32. Steps are timed with CUDA events after warm-up;
the median of the repeats is reported. Needs a CUDA GPU, torch and torchvision.

With --device cpu it times the CPU steps instead (ResNet-18 batch 32, the MNIST
pseudo-label step, the Regressor) with a steady clock on --threads threads, and reports
the resident memory of the batch-32 ResNet-18 step (bench/cpu_compare.sh runs it beside
kiln_bench_e2e --device cpu).

    python3 bench/pytorch_reference.py [--quick] [--device cuda|cpu] [--threads N] [--repeats N]
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def median_ms(fn, warmup=3, repeats=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def emit(name, ms, flops=0.0, nbytes=0.0, **extra):
    row = {"bench": name, "ms": round(ms, 4), "tflops": round(flops / ms / 1e9, 3) if flops else 0.0,
           "gbps": round(nbytes / ms / 1e6, 1) if nbytes else 0.0}
    row.update(extra)
    print(json.dumps(row), flush=True)


def kernels():
    dev = "cuda"
    n = (512 << 20) // 4
    a, b = torch.randn(n, device=dev), torch.randn(n, device=dev)
    c = torch.empty_like(a)
    emit("copy_512MB", median_ms(lambda: c.copy_(a)), nbytes=2.0 * n * 4)
    emit("add_512MB", median_ms(lambda: torch.add(a, b)), nbytes=3.0 * n * 4)
    del a, b, c

    layers = [("stem_3x64_32", 3, 32, 64, 3, 1, 1), ("layer1_64_16", 64, 16, 64, 3, 1, 1),
              ("layer2a_64x128_s2", 64, 16, 128, 3, 2, 1), ("layer2_down1x1", 64, 16, 128, 1, 2, 0),
              ("layer2_128_8", 128, 8, 128, 3, 1, 1), ("layer3a_128x256_s2", 128, 8, 256, 3, 2, 1),
              ("layer3_256_4", 256, 4, 256, 3, 1, 1), ("layer4a_256x512_s2", 256, 4, 512, 3, 2, 1),
              ("layer4_512_2", 512, 2, 512, 3, 1, 1)]
    batch = 128
    for tf32 in (True, False):
        torch.backends.cudnn.allow_tf32 = tf32
        for name, cin, hw, k, r, s, p in layers:
            x = torch.randn(batch, cin, hw, hw, device=dev)
            w = torch.randn(k, cin, r, r, device=dev)
            out = (hw + 2 * p - r) // s + 1
            flops = 2.0 * batch * k * out * out * cin * r * r
            tag = name + ("_tf32" if tf32 else "_fp32")
            with torch.no_grad():
                emit("conv_fwd_" + tag, median_ms(lambda: F.conv2d(x, w, None, s, p)), flops=flops)
            xg, wg = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
            dy = torch.randn(batch, k, out, out, device=dev)
            emit("conv_fwdbwd_" + tag, median_ms(lambda: F.conv2d(xg, wg, None, s, p).backward(dy)), flops=3 * flops)
    torch.backends.cudnn.allow_tf32 = True

    x = torch.randn(256, 64, 32, 32, device=dev)
    bn = nn.BatchNorm2d(64).to(dev)
    with torch.no_grad():
        emit("batchnorm_fwd_train", median_ms(lambda: bn(x)), nbytes=2.0 * x.numel() * 4)
    xg = x.clone().requires_grad_(True)
    dy = torch.randn_like(x)
    emit("batchnorm_fwdbwd_train", median_ms(lambda: bn(xg).backward(dy)), nbytes=5.0 * x.numel() * 4)

    n = 1 << 20
    z = torch.randn(n, 10, device=dev, requires_grad=True)
    y = torch.arange(n, device=dev) % 10
    # Loss and its gradient: PyTorch needs forward + backward for what kiln's fused kernel does.
    emit("cross_entropy_smooth_fwd_grad",
         median_ms(lambda: torch.autograd.grad(F.cross_entropy(z, y, label_smoothing=0.1), z)),
         nbytes=2.0 * z.numel() * 4 + y.numel() * 8 + 8 * n)

    n = (64 << 20) // 4
    x = torch.randn(n, device=dev)
    emit("dropout_64MB", median_ms(lambda: F.dropout(x, 0.5, True)), nbytes=2.0 * n * 4)


def tutorial_resnet18():
    m = torchvision.models.resnet18()
    m.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1)
    m.fc = nn.Sequential(nn.Dropout2d(0.5), nn.Linear(512, 10))
    return m


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
                                      nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(nn.Dropout(), nn.Linear(192 * 6 * 6, 1024), nn.ReLU(), nn.Dropout(0.5),
                                        nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10))

    def forward(self, x):
        return self.classifier(self.features(x).view(-1, 192 * 6 * 6))


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.dropout = nn.Linear(13, 50), nn.Linear(50, 1), nn.Dropout(0.5)

    def forward(self, x):
        return F.relu(self.fc2(self.dropout(F.relu(self.fc1(x)))))


def train_step_fn(model, opt, x, y, loss_fn):
    def step():
        opt.zero_grad(set_to_none=False)
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def graphed(step, warmup=3):
    """Captures `step` (forward, backward, optimizer) as one CUDA graph, as in PyTorch's docs."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(warmup):
            step()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        step()
    return g.replay


def e2e(quick):
    dev = "cuda"
    repeats = 20 if quick else 50
    for batch in (32, 128):
        torch.manual_seed(1)
        model = tutorial_resnet18().to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
        x = torch.randn(batch, 3, 32, 32, device=dev)
        y = torch.arange(batch, device=dev) % 10
        step = train_step_fn(model, opt, x, y, F.cross_entropy)
        emit(f"resnet18_step_b{batch}", median_ms(step, repeats=repeats))
        if batch == 128:
            torch.cuda.reset_peak_memory_stats()
            step()
            torch.cuda.synchronize()
            print(json.dumps({"bench": "resnet18_step_b128_peak_memory",
                              "mib": round(torch.cuda.max_memory_allocated() / 2**20, 4)}), flush=True)
        emit(f"resnet18_step_b{batch}_graph", median_ms(graphed(step), repeats=repeats))

    torch.manual_seed(1)
    model = tutorial_resnet18().to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(512, 3, 32, 32, device=dev).to(memory_format=torch.channels_last)
    y = torch.arange(512, device=dev) % 10

    def bf16_step():
        opt.zero_grad(set_to_none=False)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    emit("resnet18_step_b512_bf16", median_ms(bf16_step, repeats=repeats))

    net = Net().to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, capturable=True)
    xl, yl = torch.rand(128, 1, 28, 28, device=dev), torch.arange(128, device=dev) % 10
    xu = torch.rand(256, 1, 28, 28, device=dev)

    def pseudo_step():
        opt.zero_grad()
        pu = net(xu)
        plabels = pu.detach().argmax(1)
        (F.cross_entropy(net(xl), yl) + 1e-4 * F.cross_entropy(pu, plabels)).backward()
        opt.step()
    emit("mnist_pseudo_label_step", median_ms(pseudo_step, repeats=repeats))
    emit("mnist_pseudo_label_step_graph", median_ms(graphed(pseudo_step), repeats=repeats))

    reg = Regressor().to(dev)
    opt = torch.optim.Adam(reg.parameters(), lr=1e-3, weight_decay=1e-7, capturable=True)
    xr, yr = torch.rand(32, 13, device=dev), torch.rand(32, 1, device=dev)
    reg_step = train_step_fn(reg, opt, xr, yr, F.mse_loss)
    emit("regressor_step_b32", median_ms(reg_step, warmup=10, repeats=200))
    emit("regressor_step_b32_graph", median_ms(graphed(reg_step), warmup=10, repeats=200))


def cpu_median_ms(fn, warmup=3, repeats=5, name=None):
    """Median wall-clock milliseconds of fn() on the CPU (every op is synchronous there); with
    a name, the fastest repeat is also printed as the row name + "_min" (interference from other
    work on the machine only ever adds time, so the minimum is the steadier figure)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    if name:
        print(json.dumps({"bench": name + "_min", "ms": round(min(times), 4)}), flush=True)
    return statistics.median(times)


def resident_mib(field):
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss():
    """Resets VmHWM to the current resident size (Linux >= 4.0: '5' to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def cpu_e2e(repeats):
    """The CPU steps that kiln_bench_e2e --device cpu times, with the same names."""
    torch.manual_seed(1)
    model = tutorial_resnet18()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(32, 3, 32, 32)
    y = torch.arange(32) % 10
    step = train_step_fn(model, opt, x, y, F.cross_entropy)
    # Resident memory once the model and input exist (Adam's state appears in the first step),
    # and the peak over the warm-up and timed steps.
    before = resident_mib("VmRSS")
    reset_peak_rss()
    emit("resnet18_step_b32", cpu_median_ms(step, repeats=repeats, name="resnet18_step_b32"))
    print(json.dumps({"bench": "resnet18_step_b32_rss_before", "mib": round(before, 1)}), flush=True)
    print(json.dumps({"bench": "resnet18_step_b32_peak_rss", "mib": round(resident_mib("VmHWM"), 1)}), flush=True)
    del model, opt, step

    torch.manual_seed(3)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xl, yl = torch.rand(128, 1, 28, 28), torch.arange(128) % 10
    xu = torch.rand(256, 1, 28, 28)

    def pseudo_step():
        opt.zero_grad()
        pu = net(xu)
        plabels = pu.detach().argmax(1)
        (F.cross_entropy(net(xl), yl) + 1e-4 * F.cross_entropy(pu, plabels)).backward()
        opt.step()
    emit("mnist_pseudo_label_step", cpu_median_ms(pseudo_step, repeats=repeats, name="mnist_pseudo_label_step"))

    reg = Regressor()
    opt = torch.optim.Adam(reg.parameters(), lr=1e-3, weight_decay=1e-7)
    xr, yr = torch.rand(32, 13), torch.rand(32, 1)
    emit("regressor_step_b32", cpu_median_ms(train_step_fn(reg, opt, xr, yr, F.mse_loss), warmup=10, repeats=50,
                                             name="regressor_step_b32"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["kernels", "e2e"])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's own choice)")
    parser.add_argument("--repeats", type=int, default=0, help="timed CPU steps (default 3 with --quick, else 5)")
    args = parser.parse_args()
    if args.device == "cpu":
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        print(json.dumps({"torch": torch.__version__, "device": "cpu", "threads": torch.get_num_threads(),
                          "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                          "mkldnn": torch.backends.mkldnn.is_available()}), flush=True)
        cpu_e2e(args.repeats or (3 if args.quick else 5))
        return
    print(json.dumps({"torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
                      "device": torch.cuda.get_device_name()}), flush=True)
    if args.only in (None, "kernels"):
        kernels()
    if args.only in (None, "e2e"):
        e2e(args.quick)


if __name__ == "__main__":
    main()
