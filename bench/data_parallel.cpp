// Data-parallel scaling on the CPU: training steps of the tutorial's MNIST Net (forward,
// cross-entropy, backward, gradient all-reduce, SGD) with a fixed batch per process, timed
// over the same number of steps on every rank. Run it as one process and under
// `mpirun -np N`; rank 0 prints one JSON line: processes, OpenMP threads per process, steps/s,
// samples/s over all ranks and the share of the step spent averaging gradients after
// backward. With --overlap the buckets are reduced during backward (GradientAverager::backward)
// and only the steps/s are reported.
// Usage: [mpirun -np N] kiln_bench_data_parallel [--batch B] [--steps S] [--overlap]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/cpu_runtime.h"
#include "core/error.h"
#include "core/generator.h"
#include "core/ops.h"
#include "layers/models.h"
#include "losses/losses.h"
#include "trainers/distributed/gradients.h"
#include "trainers/distributed/process_group.h"
#include "trainers/optim.h"

using namespace kiln;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int64_t flag_value(int argc, char** argv, const char* name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], name)) {
      char* end = nullptr;
      const long long v = std::strtoll(argv[i + 1], &end, 10);
      KILN_CHECK(*end == '\0' && v > 0, name, " ", argv[i + 1], ": expected a positive whole number");
      return v;
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  tune_cpu_runtime(argv);
  try {
    const int64_t batch = flag_value(argc, argv, "--batch", 64);
    const int64_t steps = flag_value(argc, argv, "--steps", 40);
    const int64_t warmup = 3;
    bool overlap = false;
    for (int i = 1; i < argc; ++i) overlap = overlap || !std::strcmp(argv[i], "--overlap");
    ProcessGroup& group = init_process_group();

    // Each rank its own synthetic MNIST-sized batch; the model starts from rank 0's weights.
    Generator data_gen(1000 + static_cast<uint64_t>(group.rank()));
    const Tensor inputs = randn({batch, 1, 28, 28}, data_gen);
    std::vector<int64_t> label_values(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) label_values[static_cast<size_t>(i)] = (i + group.rank()) % 10;
    const Tensor labels = Tensor::from_vector(label_values, {batch});
    Generator init_gen(1);
    MnistNet model(10, init_gen);
    broadcast_module(group, model);
    auto optimizer = make_sgd(model.parameters(), 0.01, 0.9);
    GradientAverager averager(group, model.parameters());

    double averaging = 0;
    auto step = [&] {
      optimizer->zero_grad();
      const Tensor loss = cross_entropy(model(inputs), labels);
      if (overlap) {
        averager.backward(loss);
      } else {
        loss.backward();
        const auto t0 = std::chrono::steady_clock::now();
        averager.average();
        averaging += seconds_since(t0);
      }
      optimizer->step();
    };
    for (int64_t i = 0; i < warmup; ++i) step();
    group.barrier();
    averaging = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) step();
    group.barrier();
    const double seconds = seconds_since(t0);

    if (group.is_root()) {
      int64_t parameters = 0;
      for (const Tensor& p : model.parameters()) parameters += p.numel();
      const nlohmann::json row = {
          {"bench", "data_parallel"},
          {"model", "MnistNet"},
          {"processes", group.world_size()},
          {"backend", group.backend()},
          {"omp_threads_per_process", omp_get_max_threads()},
          {"batch_per_process", batch},
          {"steps", steps},
          {"steps_per_s", static_cast<double>(steps) / seconds},
          {"samples_per_s", static_cast<double>(steps * batch * group.world_size()) / seconds},
          {"gradient_floats", parameters},
          {"overlap", overlap},
          {"averaging_fraction", overlap ? nlohmann::json() : nlohmann::json(averaging / seconds)},
      };
      std::printf("%s\n", row.dump().c_str());
    }
    finalize_process_group(true);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_bench_data_parallel: error: %s\n", e.what());
    finalize_process_group(false);
    return 1;
  }
}
