// CUDA graphs (core/cuda_graph.h): a capture runs nothing, each replay runs the work once,
// random ops draw fresh numbers per replay (checked against Philox directly), graph memory is
// private, a host synchronisation inside the capture is a clear error, and a captured
// training step with dropout produces the same parameters as the same steps run eagerly.
// These tests need a GPU; without one they skip (and a CPU build checks the refusal).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/allocator.h"
#include "core/cuda_graph.h"
#include "core/generator.h"
#include "core/nn.h"
#include "core/ops.h"
#include "core/philox.h"
#include "core/random_capture.h"
#include "layers/models.h"
#include "losses/losses.h"
#include "tests/support/helpers.h"
#include "trainers/optim.h"

namespace kiln {
namespace {

TEST(CudaGraph, CapturedWorkRunsOncePerReplay) {
  KILN_REQUIRE_CUDA();
  Tensor counter = Tensor::zeros({4}, DType::Float32, Device::cuda());
  const auto work = [&] { counter.copy_(add(counter, 1.5)); };
  work();  // warm-up: kernels are loaded before capture, as in training
  counter.zero_();
  CudaGraph graph(Device::cuda());
  graph.capture(work);
  EXPECT_EQ(counter.to(Device::cpu()).to_vector<float>(), std::vector<float>(4, 0.0f));  // nothing ran
  for (int i = 0; i < 3; ++i) graph.replay();
  EXPECT_EQ(counter.to(Device::cpu()).to_vector<float>(), std::vector<float>(4, 4.5f));
}

TEST(CudaGraph, DropoutDrawsFreshNumbersOnEveryReplay) {
  KILN_REQUIRE_CUDA();
  const int64_t n = 4096;
  const double p = 0.25;
  const Tensor ones = Tensor::ones({n}, DType::Float32, Device::cuda());
  Tensor out = Tensor::zeros({n}, DType::Float32, Device::cuda());
  Generator warm_up(1), gen(2024);
  out.copy_(dropout(ones, p, Phase::Train, warm_up));
  gen.set_offset(9);
  CudaGraph graph(Device::cuda());
  graph.capture([&] { out.copy_(dropout(ones, p, Phase::Train, gen)); });
  EXPECT_EQ(gen.offset(), 9u);
  const uint32_t threshold = static_cast<uint32_t>(std::ceil(p * 16777216.0));
  for (uint64_t replay = 0; replay < 3; ++replay) {
    graph.replay();
    EXPECT_EQ(gen.offset(), 10 + replay);
    const std::vector<float> got = out.to(Device::cpu()).to_vector<float>();
    for (int64_t i = 0; i < n; ++i) {
      const bool keep = (philox::draw_u32(2024, 9 + replay, static_cast<uint64_t>(i)) >> 8) >= threshold;
      ASSERT_EQ(got[i], keep ? 1.0f / 0.75f : 0.0f) << "replay " << replay << ", element " << i;
    }
  }
}

TEST(CudaGraph, GraphMemoryIsNotHandedToEagerCode) {
  KILN_REQUIRE_CUDA();
  const Tensor x = Tensor::ones({256, 256}, DType::Float32, Device::cuda());
  Tensor out = Tensor::zeros({256, 256}, DType::Float32, Device::cuda());
  void* scratch = nullptr;
  out.copy_(add(mul(x, 3.0), 1.0));  // warm-up
  out.zero_();
  CudaGraph graph(Device::cuda());
  graph.capture([&] {
    const Tensor t = mul(x, 3.0);  // freed at the end of the capture, but the graph writes it
    scratch = t.raw_data();
    out.copy_(add(t, 1.0));
  });
  for (int i = 0; i < 8; ++i) {
    const Tensor eager = Tensor::empty({256, 256}, DType::Float32, Device::cuda());
    EXPECT_NE(eager.raw_data(), scratch);
  }
  graph.replay();
  EXPECT_EQ(out.to(Device::cpu()).to_vector<float>(), std::vector<float>(256 * 256, 4.0f));

  // A tensor made before the capture, written by the captured work and dropped inside it: its
  // block stays with the graph too.
  Tensor before = Tensor::empty({128, 128}, DType::Float32, Device::cuda());
  before.fill_(0.0);
  void* written = before.raw_data();
  CudaGraph second(Device::cuda());
  second.capture([&] {
    before.fill_(2.0);
    before = Tensor();
  });
  for (int i = 0; i < 8; ++i) {
    const Tensor eager = Tensor::empty({128, 128}, DType::Float32, Device::cuda());
    EXPECT_NE(eager.raw_data(), written);
  }
}

TEST(CudaGraph, HostSynchronisationInsideTheCaptureIsAClearError) {
  KILN_REQUIRE_CUDA();
  const Tensor x = Tensor::ones({8}, DType::Float32, Device::cuda());
  EXPECT_EQ(sum(x).item<double>(), 8.0);  // warm-up
  CudaGraph graph(Device::cuda());
  try {
    graph.capture([&] { (void)sum(x).item<double>(); });
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA graph capture failed"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(graph.captured());
  // The stream and the allocator are usable afterwards.
  EXPECT_EQ(sum(x).item<double>(), 8.0);
  EXPECT_FALSE(RandomCapture::any_active());
}

// One SGD step of the Regressor (dropout 0.5) on a fixed batch.
struct RegressorStep {
  Regressor model;
  std::unique_ptr<Optimizer> sgd;
  Tensor inputs, targets;
  explicit RegressorStep(Generator& init) : model(13, 50, 0.5, init) {
    model.to(Device::cuda());
    sgd = make_sgd(model.parameters(), 0.01, 0.9);
    inputs = Tensor::zeros({32, 13}, DType::Float32, Device::cuda());
    targets = Tensor::zeros({32, 1}, DType::Float32, Device::cuda());
  }
  void run() {
    sgd->zero_grad();
    mse_loss(model(inputs), targets).backward();
    sgd->step();
  }
};

TEST(CudaGraph, CapturedTrainingStepMatchesEagerSteps) {
  KILN_REQUIRE_CUDA();
  const int steps = 6;
  auto batch = [](int s) {
    return testing::random_normal({32, 13}, 100 + s, DType::Float32, Device::cuda());
  };
  auto target = [](int s) {
    return testing::random_uniform({32, 1}, 200 + s, 0.0, 5.0, DType::Float32, Device::cuda());
  };

  Generator init_a(5), init_b(5);
  RegressorStep eager(init_a);
  default_generator().manual_seed(77);
  for (int s = 0; s < steps; ++s) {
    eager.inputs.copy_(batch(s));
    eager.targets.copy_(target(s));
    eager.run();
  }
  const uint64_t eager_offset = default_generator().offset();

  RegressorStep graphed(init_b);
  default_generator().manual_seed(77);
  graphed.inputs.copy_(batch(0));  // step 0 eagerly: warm-up before capture, as in training
  graphed.targets.copy_(target(0));
  graphed.run();
  CudaGraph graph(Device::cuda());
  graph.capture([&] { graphed.run(); });
  for (int s = 1; s < steps; ++s) {
    graphed.inputs.copy_(batch(s));
    graphed.targets.copy_(target(s));
    graph.replay();
  }
  EXPECT_EQ(default_generator().offset(), eager_offset);
  const auto a = eager.model.named_parameters(), b = graphed.model.named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].second.to(Device::cpu()).to_vector<float>(),
              b[i].second.to(Device::cpu()).to_vector<float>())
        << a[i].first;
  EXPECT_EQ(eager.sgd->step_count(), graphed.sgd->step_count());
}

TEST(CudaGraph, UnavailableWithoutCuda) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is available";
  EXPECT_THROW(CudaGraph(Device::cuda()), Error);
}

}  // namespace
}  // namespace kiln
