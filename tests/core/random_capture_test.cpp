// Device-resident Philox offsets for captured steps (core/random_capture.h), exercised on the
// CPU, where a "captured" op runs at once: it must draw what the eager stream would draw at
// the same position; the cells written before each replay must make the same kernel
// arguments draw the next step's numbers; host-side draws are refused while capturing.
// The expected masks come from Philox directly (core/philox.h), not from the dropout op.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/generator.h"
#include "core/nn.h"
#include "core/ops.h"
#include "core/philox.h"
#include "core/random_capture.h"
#include "kernels/dropout.h"
#include "losses/losses.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

// Dropout of a tensor of ones by the definition in kernels/dropout.h: element i is kept when
// the top 24 bits of Philox word i of subsequence `offset` are >= ceil(p * 2^24).
std::vector<float> reference_dropout_of_ones(uint64_t seed, uint64_t offset, int64_t n, double p) {
  const uint32_t threshold = static_cast<uint32_t>(std::ceil(p * 16777216.0));
  std::vector<float> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    y[i] = (philox::draw_u32(seed, offset, static_cast<uint64_t>(i)) >> 8) >= threshold
               ? static_cast<float>(1.0 / (1.0 - p))
               : 0.0f;
  return y;
}

TEST(RandomCapture, CapturedOpsDrawWhatTheEagerStreamDrawsAtTheSamePosition) {
  const int64_t n = 1000;
  const Tensor ones = Tensor::ones({n});
  Generator gen(1234);
  gen.set_offset(40);
  RandomCapture capture(Device::cpu());
  capture.begin();
  const Tensor a = dropout(ones, 0.3, Phase::Train, gen);
  const Tensor b = dropout(ones, 0.3, Phase::Train, gen);
  capture.end();
  EXPECT_EQ(a.to_vector<float>(), reference_dropout_of_ones(1234, 40, n, 0.3));
  EXPECT_EQ(b.to_vector<float>(), reference_dropout_of_ones(1234, 41, n, 0.3));
  EXPECT_NE(a.to_vector<float>(), b.to_vector<float>());
  // The capture records the draws; it is replaying that advances the generator.
  EXPECT_EQ(capture.draws_per_replay(gen), 2u);
  EXPECT_EQ(gen.offset(), 40u);
}

TEST(RandomCapture, EachReplayResolvesTheSameArgumentsToTheNextOffsets) {
  const int64_t n = 512;
  const Tensor ones = Tensor::ones({n});
  Generator gen(7);
  gen.set_offset(3);
  RandomCapture capture(Device::cpu());
  capture.begin();
  kernels::DropoutArgs args;  // what a captured kernel keeps: frozen arguments
  args.numel = n;
  args.p = 0.5;
  args.seed = gen.seed();
  args.offset = gen.reserve(Device::cpu());
  (void)gen.reserve(Device::cpu());  // a second op in the same step
  capture.end();
  EXPECT_EQ(args.offset.value, 0u);
  ASSERT_NE(args.offset.base, nullptr);

  std::vector<float> out(static_cast<size_t>(n));
  for (uint64_t replay = 0; replay < 3; ++replay) {
    capture.prepare_replay();
    EXPECT_EQ(gen.offset(), 3 + 2 * (replay + 1)) << "replay " << replay;
    kernels::cpu::dropout_apply<float>(args, ones.data<float>(), out.data());
    EXPECT_EQ(out, reference_dropout_of_ones(7, 3 + 2 * replay, n, 0.5)) << "replay " << replay;
  }
}

TEST(RandomCapture, GeneratorsHaveTheirOwnCellsAndCounts) {
  Generator g1(1), g2(2);
  g1.set_offset(10);
  g2.set_offset(500);
  RandomCapture capture(Device::cpu());
  capture.begin();
  const PhiloxOffset a = g1.reserve(Device::cpu());
  const PhiloxOffset b = g2.reserve(Device::cpu());
  const PhiloxOffset c = g1.reserve(Device::cpu());
  capture.end();
  EXPECT_EQ(a.base, c.base);
  EXPECT_NE(a.base, b.base);
  EXPECT_EQ(a.resolve(), 10u);
  EXPECT_EQ(c.resolve(), 11u);
  EXPECT_EQ(b.resolve(), 500u);
  capture.prepare_replay();
  EXPECT_EQ(g1.offset(), 12u);
  EXPECT_EQ(g2.offset(), 501u);
  EXPECT_EQ(a.resolve(), 10u);
  capture.prepare_replay();
  EXPECT_EQ(a.resolve(), 12u);
  EXPECT_EQ(c.resolve(), 13u);
  EXPECT_EQ(b.resolve(), 501u);
  // Outside a capture the generator hands out absolute offsets again.
  const PhiloxOffset eager = g1.reserve(Device::cpu());
  EXPECT_EQ(eager.base, nullptr);
  EXPECT_EQ(eager.value, 14u);
  // Seeds are frozen kernel arguments: reseeding a generator the capture used makes it stale.
  EXPECT_TRUE(capture.seeds_unchanged());
  g2.manual_seed(3);
  EXPECT_FALSE(capture.seeds_unchanged());
}

TEST(RandomCapture, DisturbLabelInACaptureMatchesTheEagerStream) {
  const Tensor labels = Tensor::from_vector<int64_t>(std::vector<int64_t>(300, 4), {300});
  Generator eager(99), captured(99);
  eager.set_offset(5);
  captured.set_offset(5);
  const Tensor expected = disturb_label(labels, 10, 50.0, eager);
  RandomCapture capture(Device::cpu());
  capture.begin();
  const Tensor got = disturb_label(labels, 10, 50.0, captured);
  capture.end();
  EXPECT_EQ(got.to_vector<int64_t>(), expected.to_vector<int64_t>());
  EXPECT_EQ(capture.draws_per_replay(captured), 1u);
  // DisturbValue takes two offsets (selection and noise) in both modes.
  const Tensor targets = Tensor::zeros({64, 2}, DType::Float64);
  const Tensor expected_value = disturb_value(targets, 0.5, 1.0, eager);
  capture.prepare_replay();  // moves `captured` past the DisturbLabel draw, as `eager` is
  capture.begin();
  const Tensor got_value = disturb_value(targets, 0.5, 1.0, captured);
  capture.end();
  EXPECT_EQ(capture.draws_per_replay(captured), 2u);
  EXPECT_EQ(got_value.to_vector<double>(), expected_value.to_vector<double>());
}

TEST(RandomCapture, HostDrawsAndMisuseAreRefused) {
  Generator gen(3);
  RandomCapture capture(Device::cpu());
  EXPECT_THROW(capture.end(), Error);
  capture.begin();
  try {
    gen.next_offset();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be part of a captured step"), std::string::npos) << e.what();
  }
  Tensor t = Tensor::empty({4});
  EXPECT_THROW(uniform_(t, gen, 0.0, 1.0), Error);  // initialisation draws on the host side
  EXPECT_THROW(capture.begin(), Error);
  EXPECT_THROW(capture.prepare_replay(), Error);
  RandomCapture other(Device::cpu());
  EXPECT_THROW(other.begin(), Error);  // one capture per device
  std::vector<Generator> many(RandomCapture::kMaxGenerators + 1, Generator(1));
  for (int i = 0; i < RandomCapture::kMaxGenerators; ++i) (void)many[i].reserve(Device::cpu());
  EXPECT_THROW(many.back().reserve(Device::cpu()), Error);
  capture.end();
  EXPECT_FALSE(RandomCapture::any_active());
  EXPECT_NO_THROW(gen.next_offset());
}

TEST(RandomCapture, DestroyingAnActiveCaptureDeactivatesIt) {
  {
    RandomCapture capture(Device::cpu());
    capture.begin();
    EXPECT_EQ(RandomCapture::active(Device::cpu()), &capture);
  }
  EXPECT_EQ(RandomCapture::active(Device::cpu()), nullptr);
  Generator gen(1);
  EXPECT_EQ(gen.reserve(Device::cpu()).base, nullptr);
}

}  // namespace
}  // namespace kiln
