// Kernel microbenchmarks: bandwidth (copy and elementwise add), every ResNet-18 convolution
// of the tutorial at batch 128 (forward, input and weight gradients, and forward+backward, TF32
// and exact FP32), batch norm on 256x64x32x32, fused softmax cross-entropy with label smoothing
// on 1M x 10, and dropout on 64 MB. On a GPU, cuDNN's convolutions (the fastest algorithm its
// search finds, TF32 and FMA-only FP32) and batch norm run on the same shapes in the same
// process as the direct baseline: their rows are kiln's names plus "_cudnn", with
// "impl": "cudnn" and the algorithm cuDNN chose. Prints one JSON object per line (for
// bench/gpu_check.sh) and a table at the end.
// Usage: kiln_bench_kernels [--device cuda|cpu] [--quick] [--no-cudnn]
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "bench/timing.h"
#include "core/autograd.h"
#include "core/cpu_runtime.h"
#include "core/generator.h"
#include "core/nn.h"
#include "core/ops.h"
#include "core/ops/conv2d_cpu.h"
#include "kernels/batchnorm.h"
#include "kernels/conv2d.h"
#include "losses/losses.h"
#if KILN_HAS_CUDNN
#include "bench/cudnn_baseline.h"
#endif

using namespace kiln;

namespace {

struct Row {
  std::string name;
  double ms;
  double tflops;  // 0 when not a compute benchmark
  double gbps;    // 0 when not a bandwidth benchmark
};

std::vector<Row> rows;

// `extra` holds the row's further JSON members: which implementation ran, and for cuDNN what.
void report(const std::string& name, double ms, double flops, double bytes,
            const std::string& extra = ", \"impl\": \"kiln\"") {
  Row r{name, ms, flops > 0 ? flops / ms / 1e9 : 0, bytes > 0 ? bytes / ms / 1e6 : 0};
  rows.push_back(r);
  std::printf("{\"bench\": \"%s\", \"ms\": %.4f, \"tflops\": %.3f, \"gbps\": %.1f%s}\n", name.c_str(), r.ms,
              r.tflops, r.gbps, extra.c_str());
  std::fflush(stdout);
}

#if KILN_HAS_CUDNN
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
  }
  return out + "\"";
}

// A cuDNN row: kiln's row name plus "_cudnn", saying which kiln row it is the baseline for
// and what cuDNN ran.
void report_cudnn(const std::string& kiln_name, double ms, double flops, double bytes,
                  const std::string& algo) {
  report(kiln_name + "_cudnn", ms, flops, bytes,
         ", \"impl\": \"cudnn\", \"baseline_for\": " + json_string(kiln_name) +
             (algo.empty() ? "" : ", \"algo\": " + json_string(algo)));
}

// Runs one cuDNN benchmark; a cuDNN failure becomes a row with the error (and no time), so
// kiln's rows and the other baselines still come out.
void try_cudnn(const std::string& kiln_name, const std::function<void()>& bench) {
  try {
    bench();
  } catch (const std::exception& e) {
    std::printf("{\"bench\": \"%s_cudnn\", \"impl\": \"cudnn\", \"baseline_for\": %s, \"error\": %s}\n",
                kiln_name.c_str(), json_string(kiln_name).c_str(), json_string(e.what()).c_str());
    std::fprintf(stderr, "cuDNN baseline for %s failed: %s\n", kiln_name.c_str(), e.what());
    std::fflush(stdout);
  }
}
#endif

// kiln's convolution gradients alone (no autograd): the kernels the conv2d op calls (on the
// CPU through its choice of variant, core/ops/conv2d_cpu.h).
void conv_backward_input(bool gpu, const kernels::Conv2dShape& s, const Tensor& dy, const Tensor& w,
                         Tensor& dx, [[maybe_unused]] kernels::ConvPrecision precision) {
#if KILN_HAS_CUDA
  if (gpu)
    return kernels::cuda::conv2d_backward_input(s, dy.data<float>(), w.data<float>(), dx.data<float>(),
                                                precision);
#endif
  conv2d_backward_input_cpu<float>(s, dy.data<float>(), w.data<float>(), dx.data<float>());
}
void conv_backward_weight(bool gpu, const kernels::Conv2dShape& s, const Tensor& x, const Tensor& dy,
                          Tensor& dw, [[maybe_unused]] kernels::ConvPrecision precision) {
#if KILN_HAS_CUDA
  if (gpu)
    return kernels::cuda::conv2d_backward_weight(s, x.data<float>(), dy.data<float>(), dw.data<float>(),
                                                 nullptr, precision);
#endif
  conv2d_backward_weight_cpu<float>(s, x.data<float>(), dy.data<float>(), dw.data<float>(), nullptr);
}

struct ConvLayer {
  const char* name;
  int64_t c, hw, k, r, stride, pad;
};

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf(
          "Usage: kiln_bench_kernels [--device cuda|cpu] [--quick] [--no-cudnn]\n"
          "Times kiln's kernels (and, on a GPU, cuDNN's convolution and batch norm on the same shapes)\n"
          "and prints one JSON object per line, then a table.\n"
          "  --device    where to run (default: cuda when a GPU is present)\n"
          "  --quick     smaller CPU batches\n"
          "  --no-cudnn  skip the cuDNN baseline rows\n");
      return 0;
    }
  tune_cpu_runtime(argv);
  const bench::Args args = bench::parse_args(argc, argv);
  const Device dev = args.device;
  const bool quick = args.quick;
  const bool gpu = dev.is_cuda();
  [[maybe_unused]] bool with_cudnn = false;
#if KILN_HAS_CUDNN
  // cuDNN is the baseline on the GPU only; when it cannot load, the reason is printed once
  // (as a JSON line without "bench") and kiln's rows still run.
  with_cudnn = gpu;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--no-cudnn")) with_cudnn = false;
  if (with_cudnn) {
    const std::string why = cudnn::unavailable_reason();
    if (why.empty()) {
      std::printf("{\"cudnn_version\": %s, \"cudnn_library\": %s}\n", json_string(cudnn::version()).c_str(),
                  json_string(cudnn::library_path()).c_str());
    } else {
      std::printf("{\"cudnn_unavailable\": %s}\n", json_string(why).c_str());
      std::fprintf(stderr, "%s\n", why.c_str());
      with_cudnn = false;
    }
  }
#endif
  Generator gen(1);
  NoGradGuard no_grad;

  // ---- bandwidth: 512 MB buffers on the GPU (64 MB on the CPU) ---------------------------
  {
    const int64_t n = (gpu ? 512ll << 20 : 64ll << 20) / 4;
    Tensor a = randn({n}, gen, DType::Float32, dev), b = randn({n}, gen, DType::Float32, dev);
    Tensor c = Tensor::empty({n}, DType::Float32, dev);
    report("copy_" + std::to_string(n * 4 >> 20) + "MB", bench::median_ms(dev, [&] { c.copy_(a); }), 0,
           2.0 * n * 4);
    report("add_" + std::to_string(n * 4 >> 20) + "MB", bench::median_ms(dev, [&] { (void)add(a, b); }), 0,
           3.0 * n * 4);
  }

  // ---- convolutions: the tutorial's ResNet-18 layers at batch 128 -------------------------
  const ConvLayer layers[] = {
      {"stem_3x64_32", 3, 32, 64, 3, 1, 1},        {"layer1_64_16", 64, 16, 64, 3, 1, 1},
      {"layer2a_64x128_s2", 64, 16, 128, 3, 2, 1}, {"layer2_down1x1", 64, 16, 128, 1, 2, 0},
      {"layer2_128_8", 128, 8, 128, 3, 1, 1},      {"layer3a_128x256_s2", 128, 8, 256, 3, 2, 1},
      {"layer3_256_4", 256, 4, 256, 3, 1, 1},      {"layer4a_256x512_s2", 256, 4, 512, 3, 2, 1},
      {"layer4_512_2", 512, 2, 512, 3, 1, 1},
  };
  const int64_t batch = gpu ? 128 : (quick ? 8 : 32);
  for (const ConvLayer& L : layers) {
    Tensor x = randn({batch, L.c, L.hw, L.hw}, gen, DType::Float32, dev);
    Tensor w = randn({L.k, L.c, L.r, L.r}, gen, DType::Float32, dev);
    const int64_t p = (L.hw + 2 * L.pad - L.r) / L.stride + 1;
    const double flops = 2.0 * batch * L.k * p * p * L.c * L.r * L.r;
    kernels::Conv2dShape shape;
    shape.n = batch, shape.c = L.c, shape.h = shape.w = L.hw, shape.k = L.k, shape.r = shape.s = L.r;
    shape.stride_h = shape.stride_w = L.stride, shape.pad_h = shape.pad_w = L.pad;
    const Tensor dy = randn({batch, L.k, p, p}, gen, DType::Float32, dev);
    Tensor dx = Tensor::empty(x.shape(), DType::Float32, dev),
           dw = Tensor::empty(w.shape(), DType::Float32, dev);
    for (ConvMath math : gpu ? std::vector<ConvMath>{ConvMath::TF32, ConvMath::FP32}
                             : std::vector<ConvMath>{ConvMath::FP32}) {
      set_conv_math(math);
      const auto precision =
          math == ConvMath::TF32 ? kernels::ConvPrecision::TF32 : kernels::ConvPrecision::FP32;
      const std::string tag = std::string(L.name) + (math == ConvMath::TF32 ? "_tf32" : "_fp32");
      report("conv_fwd_" + tag, bench::median_ms(dev, [&] { (void)conv2d(x, w, Tensor(), L.stride, L.pad); }),
             flops, 0);
      // The two gradients alone, to set beside cuDNN's backward-data and backward-filter.
      report("conv_bwd_data_" + tag,
             bench::median_ms(dev, [&] { conv_backward_input(gpu, shape, dy, w, dx, precision); }), flops, 0);
      report("conv_bwd_filter_" + tag,
             bench::median_ms(dev, [&] { conv_backward_weight(gpu, shape, x, dy, dw, precision); }), flops,
             0);
      Tensor xg = x.clone().set_requires_grad(true), wg = w.clone().set_requires_grad(true);
      report("conv_fwdbwd_" + tag,
             bench::median_ms(dev,
                              [&] {
                                GradModeGuard grad(true);
                                conv2d(xg, wg, Tensor(), L.stride, L.pad).backward(dy);
                              }),
             3 * flops, 0);
#if KILN_HAS_CUDNN
      if (with_cudnn)
        try_cudnn("conv_" + tag, [&] {
          // The fastest algorithm cuDNN's search finds for each direction, planned once.
          cudnn::Conv2d conv(shape, precision, cudnn::AlgoChoice::Fastest);
          Tensor y = Tensor::empty(dy.shape(), DType::Float32, dev);
          const float *xp = x.data<float>(), *wp = w.data<float>(), *dyp = dy.data<float>();
          float *yp = y.data<float>(), *dxp = dx.data<float>(), *dwp = dw.data<float>();
          report_cudnn("conv_fwd_" + tag, bench::median_ms(dev, [&] { conv.forward(xp, wp, nullptr, yp); }),
                       flops, 0, conv.forward_algo());
          report_cudnn("conv_bwd_data_" + tag,
                       bench::median_ms(dev, [&] { conv.backward_input(dyp, wp, dxp); }), flops, 0,
                       conv.backward_input_algo());
          report_cudnn("conv_bwd_filter_" + tag,
                       bench::median_ms(dev, [&] { conv.backward_weight(xp, dyp, dwp, nullptr); }), flops, 0,
                       conv.backward_weight_algo());
          report_cudnn("conv_fwdbwd_" + tag,
                       bench::median_ms(dev,
                                        [&] {
                                          conv.forward(xp, wp, nullptr, yp);
                                          conv.backward_input(dyp, wp, dxp);
                                          conv.backward_weight(xp, dyp, dwp, nullptr);
                                        }),
                       3 * flops, 0, "");
        });
#endif
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
    report("batchnorm_fwd_train",
           bench::median_ms(dev, [&] { (void)batch_norm(x, rm, rv, g, b, Phase::Train); }), 0,
           2.0 * x.nbytes());
    report("batchnorm_fwd_eval",
           bench::median_ms(dev, [&] { (void)batch_norm(x, rm, rv, g, b, Phase::Eval); }), 0,
           2.0 * x.nbytes());
    Tensor xg = x.clone().set_requires_grad(true);
    const Tensor dy = randn(s, gen, DType::Float32, dev);
    report("batchnorm_fwdbwd_train",
           bench::median_ms(dev,
                            [&] {
                              GradModeGuard grad(true);
                              batch_norm(xg, rm, rv, g, b, Phase::Train).backward(dy);
                            }),
           0, 5.0 * x.nbytes());
#if KILN_HAS_CUDNN
    if (with_cudnn)
      try_cudnn("batchnorm", [&] {
        // cuDNN's spatial-mode batch norm, its buffers allocated once outside the timing.
        kernels::BatchNormShape bs;
        bs.n = s[0], bs.c = s[1], bs.hw = s[2] * s[3];
        cudnn::BatchNorm2d bn(bs);
        Tensor y = Tensor::empty(s, DType::Float32, dev), dx = Tensor::empty(s, DType::Float32, dev);
        Tensor stats = Tensor::empty({4, 64}, DType::Float32, dev);
        float* mean = stats.data<float>();
        float *invstd = mean + 64, *dgamma = mean + 128, *dbeta = mean + 192;
        const float *xp = x.data<float>(), *gp = g.data<float>(), *bp = b.data<float>(),
                    *dyp = dy.data<float>();
        report_cudnn("batchnorm_fwd_train",
                     bench::median_ms(dev,
                                      [&] {
                                        bn.forward_train(xp, gp, bp, 1e-5, 0.1, y.data<float>(), mean, invstd,
                                                         rm.data<float>(), rv.data<float>());
                                      }),
                     0, 2.0 * x.nbytes(), "spatial");
        report_cudnn("batchnorm_fwd_eval",
                     bench::median_ms(dev,
                                      [&] {
                                        bn.forward_eval(xp, gp, bp, rm.data<float>(), rv.data<float>(), 1e-5,
                                                        y.data<float>());
                                      }),
                     0, 2.0 * x.nbytes(), "spatial");
        report_cudnn("batchnorm_fwdbwd_train",
                     bench::median_ms(dev,
                                      [&] {
                                        bn.forward_train(xp, gp, bp, 1e-5, 0.1, y.data<float>(), mean, invstd,
                                                         rm.data<float>(), rv.data<float>());
                                        bn.backward(dyp, xp, gp, mean, invstd, 1e-5, dx.data<float>(), dgamma,
                                                    dbeta);
                                      }),
                     0, 5.0 * x.nbytes(), "spatial");
      });
#endif
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
    report("cross_entropy_smooth_fwd_grad",
           bench::median_ms(dev,
                            [&] {
                              GradModeGuard grad(true);
                              (void)cross_entropy(zg, y, o);
                            }),
           0, double(2 * z.nbytes() + y.nbytes() + 8 * n));
  }
  {
    const int64_t n = (gpu ? 64ll << 20 : 16ll << 20) / 4;
    Tensor x = randn({n}, gen, DType::Float32, dev);
    report("dropout_" + std::to_string(n * 4 >> 20) + "MB",
           bench::median_ms(dev, [&] { (void)dropout(x, 0.5, Phase::Train, gen); }), 0, 2.0 * x.nbytes());
  }

  std::printf("\n%-36s %10s %10s %10s\n", "benchmark", "ms", "TFLOP/s", "GB/s");
  for (const Row& r : rows)
    std::printf("%-36s %10.4f %10.3f %10.1f\n", r.name.c_str(), r.ms, r.tflops, r.gbps);
  return 0;
}
