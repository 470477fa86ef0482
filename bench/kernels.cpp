// Kernel microbenchmarks: bandwidth (copy and elementwise add), every ResNet-18 convolution
// of the tutorial at batch 128 (forward and forward+backward, TF32 and exact FP32), batch norm
// on 256x64x32x32, fused softmax cross-entropy with label smoothing on 1M x 10, and dropout on
// 64 MB. Prints one JSON object per line (for bench/gpu_check.sh) and a table at the end.
// Usage: kiln_bench_kernels [--device cuda|cpu] [--quick]
#include <cstdio>
#include <string>
#include <vector>

#include "bench/timing.h"
#include "core/autograd.h"
#include "core/cpu_runtime.h"
#include "core/generator.h"
#include "core/nn.h"
#include "core/ops.h"
#include "kernels/conv2d.h"
#include "losses/losses.h"

using namespace kiln;

namespace {

struct Row {
  std::string name;
  double ms;
  double tflops;  // 0 when not a compute benchmark
  double gbps;    // 0 when not a bandwidth benchmark
};

std::vector<Row> rows;

void report(const std::string& name, double ms, double flops, double bytes) {
  Row r{name, ms, flops > 0 ? flops / ms / 1e9 : 0, bytes > 0 ? bytes / ms / 1e6 : 0};
  rows.push_back(r);
  std::printf("{\"bench\": \"%s\", \"ms\": %.4f, \"tflops\": %.3f, \"gbps\": %.1f}\n", name.c_str(), r.ms, r.tflops,
              r.gbps);
  std::fflush(stdout);
}

struct ConvLayer {
  const char* name;
  int64_t c, hw, k, r, stride, pad;
};

}  // namespace

int main(int argc, char** argv) {
  tune_cpu_runtime(argv);
  const bench::Args args = bench::parse_args(argc, argv);
  const Device dev = args.device;
  const bool quick = args.quick;
  const bool gpu = dev.is_cuda();
  Generator gen(1);
  NoGradGuard no_grad;

  // ---- bandwidth: 512 MB buffers on the GPU (64 MB on the CPU) ---------------------------
  {
    const int64_t n = (gpu ? 512ll << 20 : 64ll << 20) / 4;
    Tensor a = randn({n}, gen, DType::Float32, dev), b = randn({n}, gen, DType::Float32, dev);
    Tensor c = Tensor::empty({n}, DType::Float32, dev);
    report("copy_" + std::to_string(n * 4 >> 20) + "MB", bench::median_ms(dev, [&] { c.copy_(a); }), 0, 2.0 * n * 4);
    report("add_" + std::to_string(n * 4 >> 20) + "MB", bench::median_ms(dev, [&] { (void)add(a, b); }), 0, 3.0 * n * 4);
  }

  // ---- convolutions: the tutorial's ResNet-18 layers at batch 128 -------------------------
  const ConvLayer layers[] = {
      {"stem_3x64_32", 3, 32, 64, 3, 1, 1},       {"layer1_64_16", 64, 16, 64, 3, 1, 1},
      {"layer2a_64x128_s2", 64, 16, 128, 3, 2, 1}, {"layer2_down1x1", 64, 16, 128, 1, 2, 0},
      {"layer2_128_8", 128, 8, 128, 3, 1, 1},     {"layer3a_128x256_s2", 128, 8, 256, 3, 2, 1},
      {"layer3_256_4", 256, 4, 256, 3, 1, 1},     {"layer4a_256x512_s2", 256, 4, 512, 3, 2, 1},
      {"layer4_512_2", 512, 2, 512, 3, 1, 1},
  };
  const int64_t batch = gpu ? 128 : (quick ? 8 : 32);
  for (const ConvLayer& L : layers) {
    Tensor x = randn({batch, L.c, L.hw, L.hw}, gen, DType::Float32, dev);
    Tensor w = randn({L.k, L.c, L.r, L.r}, gen, DType::Float32, dev);
    const int64_t p = (L.hw + 2 * L.pad - L.r) / L.stride + 1;
    const double flops = 2.0 * batch * L.k * p * p * L.c * L.r * L.r;
    for (ConvMath math : gpu ? std::vector<ConvMath>{ConvMath::TF32, ConvMath::FP32} : std::vector<ConvMath>{ConvMath::FP32}) {
      set_conv_math(math);
      const std::string tag = std::string(L.name) + (math == ConvMath::TF32 ? "_tf32" : "_fp32");
      report("conv_fwd_" + tag, bench::median_ms(dev, [&] { (void)conv2d(x, w, Tensor(), L.stride, L.pad); }), flops, 0);
      Tensor xg = x.clone().set_requires_grad(true), wg = w.clone().set_requires_grad(true);
      const Tensor dy = randn({batch, L.k, p, p}, gen, DType::Float32, dev);
      report("conv_fwdbwd_" + tag, bench::median_ms(dev, [&] {
               GradModeGuard grad(true);
               conv2d(xg, wg, Tensor(), L.stride, L.pad).backward(dy);
             }),
             3 * flops, 0);
    }
  }
  set_conv_math(ConvMath::TF32);

  // ---- batch norm, cross-entropy, dropout -------------------------------------------------
  {
    const Shape s = gpu ? Shape{256, 64, 32, 32} : Shape{16, 64, 32, 32};
    Tensor x = randn(s, gen, DType::Float32, dev);
    Tensor g = Tensor::ones({64}, DType::Float32, dev), b = Tensor::zeros({64}, DType::Float32, dev);
    Tensor rm = Tensor::zeros({64}, DType::Float32, dev), rv = Tensor::ones({64}, DType::Float32, dev);
    // Effective bandwidth on the minimal traffic: forward reads x and writes y; forward +
    // backward also reads dy (and x again) and writes dx: 2 and 5 tensor passes.
    report("batchnorm_fwd_train", bench::median_ms(dev, [&] { (void)batch_norm(x, rm, rv, g, b, true); }), 0,
           2.0 * x.nbytes());
    Tensor xg = x.clone().set_requires_grad(true);
    const Tensor dy = randn(s, gen, DType::Float32, dev);
    report("batchnorm_fwdbwd_train", bench::median_ms(dev, [&] {
             GradModeGuard grad(true);
             batch_norm(xg, rm, rv, g, b, true).backward(dy);
           }),
           0, 5.0 * x.nbytes());
  }
  {
    const int64_t n = gpu ? 1 << 20 : 1 << 16;
    Tensor z = randn({n, 10}, gen, DType::Float32, dev);
    std::vector<int64_t> l(n);
    for (int64_t i = 0; i < n; ++i) l[i] = i % 10;
    Tensor y = Tensor::from_vector(l, {n}, dev);
    CrossEntropyOptions o;
    o.label_smoothing = 0.1;
    // read logits + labels, write per-row loss/weight (the gradient is written with grad on)
    // One fused pass: read logits and labels, write per-row loss and weight and the
    // gradient (the library computes dlogits in the forward pass when logits need grad).
    Tensor zg = z.clone().set_requires_grad(true);
    report("cross_entropy_smooth_fwd_grad", bench::median_ms(dev, [&] {
             GradModeGuard grad(true);
             (void)cross_entropy(zg, y, o);
           }),
           0, double(2 * z.nbytes() + y.nbytes() + 8 * n));
  }
  {
    const int64_t n = (gpu ? 64ll << 20 : 16ll << 20) / 4;
    Tensor x = randn({n}, gen, DType::Float32, dev);
    report("dropout_" + std::to_string(n * 4 >> 20) + "MB",
           bench::median_ms(dev, [&] { (void)dropout(x, 0.5, true, gen); }), 0, 2.0 * x.nbytes());
  }

  std::printf("\n%-36s %10s %10s %10s\n", "benchmark", "ms", "TFLOP/s", "GB/s");
  for (const Row& r : rows) std::printf("%-36s %10.4f %10.3f %10.1f\n", r.name.c_str(), r.ms, r.tflops, r.gbps);
  return 0;
}
