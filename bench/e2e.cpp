// End-to-end step times of the tutorial's workloads, with the data already on the device:
// a ResNet-18 training step (forward, cross-entropy, backward, Adam) at batch 32 and 128,
// the MNIST Net's online pseudo-labelling step (128 labelled + 256 unlabelled images), the
// Regressor at batch 32, and one epoch of the DataLoader alone on CIFAR-10-sized synthetic
// data (50,000 x 3 x 32 x 32, batch 32, normalise + flip). On CUDA each training step is
// timed twice: eager, and replayed from a captured CUDA graph (core/cuda_graph.h, "_graph"),
// and the peak device memory of the ResNet-18 batch-128 step is reported. JSON lines, then a
// table. A row that fails (a capture CUDA refuses, a CUDA error) is printed as a JSON line with
// an "error" field and the remaining rows still run; the exit status is then 1.
// On the CPU the resident memory of the batch-32 step is reported instead.
// Usage: kiln_bench_e2e [--device cuda|cpu] [--quick] [--repeats N] [--only PREFIX,PREFIX...]
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/resident_memory.h"
#include "bench/timing.h"
#include "core/allocator.h"
#include "core/autograd.h"
#include "core/cpu_runtime.h"
#include "core/cuda_graph.h"
#include "core/generator.h"
#include "core/ops.h"
#include "data/loader.h"
#include "layers/models.h"
#include "losses/losses.h"
#include "trainers/optim.h"

using namespace kiln;

namespace {

struct Row {
  std::string name;
  double value;
  std::string unit;
};
std::vector<Row> rows;

void report(const std::string& name, double value, const std::string& unit = "ms") {
  rows.push_back({name, value, unit});
  std::printf("{\"bench\": \"%s\", \"%s\": %.4f}\n", name.c_str(), unit.c_str(), value);
  std::fflush(stdout);
}

std::vector<std::string> failed;

// --only a,b: run just the benchmarks whose row names start with one of the given prefixes
// (e.g. "resnet18_step_b32,mnist"); empty runs everything.
std::vector<std::string> only;
bool wanted(const std::string& name) {
  if (only.empty()) return true;
  for (const std::string& prefix : only)
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

// Runs one benchmark, which reports its own rows. If it throws, the row `name` is reported as
// failed (its message may hold any byte, hence the JSON library) and the caller goes on.
void guarded(const std::string& name, const std::function<void()>& bench) {
  try {
    bench();
  } catch (const std::exception& e) {
    failed.push_back(name);
    const nlohmann::json row = {{"bench", name}, {"error", e.what()}};
    std::printf("%s\n", row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "kiln_bench_e2e: %s failed: %s\n", name.c_str(), e.what());
  }
}

// Times `step` eagerly and, on CUDA, replayed from a CUDA graph captured after the eager
// warm-up (as the trainers do).
void bench_step(const std::string& name, Device dev, const std::function<void()>& step, int warmup,
                int repeats) {
  guarded(name, [&] {
    report(name, bench::median_ms(dev, step, warmup, repeats));
    if (dev.is_cpu()) report(name + "_min", bench::last_min_ms());
  });
  if (!dev.is_cuda()) return;
  guarded(name + "_graph", [&] {
    CudaGraph graph(dev);
    graph.capture(step);
    report(name + "_graph", bench::median_ms(
                                dev, [&] { graph.replay(); }, warmup, repeats));
  });
}

Tensor labels(int64_t n, int64_t classes, Device dev) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i % classes;
  return Tensor::from_vector(v, {n}, dev);
}

void bench_resnet_step(Device dev, int64_t batch, int repeats) {
  manual_seed(1);
  ResNet18 model;
  model.to(dev);
  auto opt = make_adam(model.parameters(), 1e-3);
  Generator gen(2);
  const Tensor x = randn({batch, 3, 32, 32}, gen, DType::Float32, dev);
  const Tensor y = labels(batch, 10, dev);
  const auto step = [&] {
    opt->zero_grad();
    cross_entropy(model(x), y).backward();
    opt->step();
  };
  const std::string name = "resnet18_step_b" + std::to_string(batch);
#if KILN_HAS_CUDA
  if (dev.is_cuda()) {
    // Peak device memory of an eager step, model, gradients and Adam state included (what
    // torch.cuda.max_memory_allocated reports after reset_peak_memory_stats).
    guarded(name + "_peak_memory", [&] {
      step();
      cuda_reset_peak_memory(dev.index);
      step();
      kiln::cuda::synchronize();
      report(name + "_peak_memory", double(cuda_memory_stats(dev.index).peak_allocated_bytes) / (1 << 20),
             "mib");
    });
  }
#endif
  // On the CPU: resident memory once the model, Adam state and input exist, and the peak over
  // the warm-up and timed steps, as bench/pytorch_reference.py --device cpu reports PyTorch's.
  const double resident_before = dev.is_cpu() ? bench::resident_mib("VmRSS") : 0;
  const bool peak_reset = dev.is_cpu() && bench::reset_peak_resident();
  bench_step(name, dev, step, 3, repeats);
  if (dev.is_cpu())
    guarded(name + "_peak_rss", [&] {
      KILN_CHECK(peak_reset, "cannot reset the peak resident size (/proc/self/clear_refs)");
      report(name + "_rss_before", resident_before, "mib");
      report(name + "_peak_rss", bench::resident_mib("VmHWM"), "mib");
    });
}

}  // namespace

int main(int argc, char** argv) {
  tune_cpu_runtime(argv);
  const bench::Args args = bench::parse_args(argc, argv);
  const Device dev = args.device;
  const bool quick = args.quick;
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--only"))
      for (std::string list = argv[i + 1]; !list.empty();) {
        const size_t comma = list.find(',');
        only.push_back(list.substr(0, comma));
        list = comma == std::string::npos ? "" : list.substr(comma + 1);
      }
  const bool gpu = dev.is_cuda();
  const int repeats = args.repeats > 0 ? args.repeats : gpu ? 50 : (quick ? 3 : 5);

  // Each guarded() catches what setting a benchmark up throws; bench_step guards each timed row.
  if (wanted("resnet18_step_b32")) guarded("resnet18_step_b32", [&] { bench_resnet_step(dev, 32, repeats); });
  if ((gpu || !quick) && wanted("resnet18_step_b128"))
    guarded("resnet18_step_b128", [&] { bench_resnet_step(dev, 128, gpu ? repeats : 3); });

  if (wanted("mnist_pseudo_label_step"))
    guarded("mnist_pseudo_label_step", [&] {  // labelled loss + alpha * loss on argmax pseudo labels
      manual_seed(3);
      MnistNet net;
      net.to(dev);
      auto opt = make_adam(net.parameters(), 1e-3);
      Generator gen(4);
      const Tensor xl = rand({128, 1, 28, 28}, gen, DType::Float32, dev), yl = labels(128, 10, dev);
      const Tensor xu = rand({256, 1, 28, 28}, gen, DType::Float32, dev);
      bench_step(
          "mnist_pseudo_label_step", dev,
          [&] {
            opt->zero_grad();
            const Tensor pu = net(xu);
            const Tensor plabels = argmax(pu.detach(), 1);
            add(cross_entropy(net(xl), yl), mul(cross_entropy(pu, plabels), 1e-4)).backward();
            opt->step();
          },
          3, repeats);
    });
  if (wanted("regressor_step_b32"))
    guarded("regressor_step_b32", [&] {
      manual_seed(5);
      Regressor reg;
      reg.to(dev);
      auto opt = make_adam(reg.parameters(), 1e-3, 0.9, 0.999, 1e-8, 1e-7);
      Generator gen(6);
      const Tensor x = rand({32, 13}, gen, DType::Float32, dev), y = rand({32, 1}, gen, DType::Float32, dev);
      bench_step(
          "regressor_step_b32", dev,
          [&] {
            opt->zero_grad();
            mse_loss(reg(x), y).backward();
            opt->step();
          },
          10, gpu ? 200 : 50);
    });
  const int64_t n = gpu || !quick ? 50000 : 5000;
  const std::string loader_name = "loader_epoch_" + std::to_string(n) + "_b32";
  if (wanted("loader_epoch"))
    guarded(loader_name, [&] {  // the loader alone: one CIFAR-sized epoch with normalise + flip
      Generator gen(7);
      Dataset data;
      data.inputs = mul(rand({n, 3, 32, 32}, gen, DType::Float32), 255.0).to(DType::UInt8).to(dev);
      data.targets = labels(n, 10, dev);
      ImageTransform t{{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, 0.5, 0};
      DataLoader loader(data, 32, std::make_shared<RandomSampler>(n), false, t, gen);
      report(loader_name, bench::median_ms(
                              dev,
                              [&] {
                                loader.start_epoch();
                                Batch b;
                                while (loader.next(b)) {
                                }
                              },
                              1, gpu ? 5 : 2));
    });

  std::printf("\n%-40s %12s %5s\n", "benchmark", "value", "unit");
  for (const Row& r : rows) std::printf("%-40s %12.3f %5s\n", r.name.c_str(), r.value, r.unit.c_str());
  for (const std::string& name : failed) std::printf("%-40s %12s\n", name.c_str(), "FAILED");
  return failed.empty() ? 0 : 1;
}
