// DataLoader on synthetic data whose pixel values encode (sample, channel, row, column):
// exact batch contents after Normalize, exact coverage per epoch, drop_last, flips and crops
// checked against the untransformed image, tables, and CPU/CUDA batches bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data/loader.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

constexpr int64_t kN = 50, kC = 3, kH = 5, kW = 6;

uint8_t pixel(int64_t i, int64_t c, int64_t y, int64_t x) {
  return static_cast<uint8_t>((i * 37 + c * 11 + y * 5 + x) % 251);
}

Dataset synthetic_images(Device device = Device::cpu()) {
  std::vector<uint8_t> v;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < kN; ++i) {
    labels.push_back(i % 10);
    for (int64_t c = 0; c < kC; ++c)
      for (int64_t y = 0; y < kH; ++y)
        for (int64_t x = 0; x < kW; ++x) v.push_back(pixel(i, c, y, x));
  }
  Dataset d{Tensor::from_vector(v, {kN, kC, kH, kW}), Tensor::from_vector(labels, {kN}), {}};
  return d.to(device);
}

const std::vector<float> kMean = {0.5f, 0.25f, 0.1f}, kStd = {0.5f, 2.0f, 0.3f};

// The value the loader must produce for source pixel p in channel c.
double normalised(uint8_t p, int64_t c) { return (p / 255.0 - kMean[c]) / kStd[c]; }

TEST(DataLoader, SequentialBatchesHoldNormalisedPixels) {
  const Dataset data = synthetic_images();
  DataLoader loader(data, 16, nullptr, false, {kMean, kStd});
  EXPECT_EQ(loader.num_batches(), 4);
  int64_t seen = 0;
  for (const Batch& b : loader.epoch()) {
    const auto in = b.inputs.to_vector<double>();
    const auto idx = b.indices.to_vector<int64_t>();
    const auto labels = b.targets.to_vector<int64_t>();
    for (int64_t j = 0; j < b.size(); ++j) {
      EXPECT_EQ(idx[j], seen + j);
      EXPECT_EQ(labels[j], idx[j] % 10);
      for (int64_t c = 0; c < kC; ++c)
        for (int64_t y = 0; y < kH; ++y)
          for (int64_t x = 0; x < kW; ++x)
            ASSERT_NEAR(in[((j * kC + c) * kH + y) * kW + x], normalised(pixel(idx[j], c, y, x), c), 1e-6);
    }
    seen += b.size();
  }
  EXPECT_EQ(seen, kN);
}

TEST(DataLoader, RandomEpochsCoverEverySampleOnceAndDiffer) {
  const Dataset data = synthetic_images();
  Generator gen(3);
  DataLoader loader(data, 7, std::make_shared<RandomSampler>(kN), false, {}, gen);
  std::vector<int64_t> first_order;
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> counts(kN, 0), order;
    for (const Batch& b : loader.epoch()) {
      const auto in = b.inputs.to_vector<double>();
      const auto idx = b.indices.to_vector<int64_t>();
      for (int64_t j = 0; j < b.size(); ++j) {
        ++counts[idx[j]];
        order.push_back(idx[j]);
        // The gathered image is the one the index names (no transform: pixel / 255).
        ASSERT_NEAR(in[j * kC * kH * kW + 7], pixel(idx[j], 0, 1, 1) / 255.0, 1e-7);
      }
    }
    for (int64_t i = 0; i < kN; ++i) EXPECT_EQ(counts[i], 1) << "sample " << i << " epoch " << epoch;
    if (epoch == 0)
      first_order = order;
    else
      EXPECT_NE(order, first_order);
  }
}

TEST(DataLoader, DropLastAndBatchCount) {
  const Dataset data = synthetic_images();
  DataLoader keep(data, 16, nullptr, false), drop(data, 16, nullptr, true);
  EXPECT_EQ(keep.num_batches(), 4);
  EXPECT_EQ(drop.num_batches(), 3);
  const auto batches = drop.epoch();
  ASSERT_EQ(batches.size(), 3u);
  for (const Batch& b : batches) EXPECT_EQ(b.size(), 16);
  EXPECT_EQ(keep.epoch().back().size(), 2);
}

TEST(DataLoader, FlipMirrorsAboutHalfOfTheSamples) {
  const Dataset data = synthetic_images();
  Generator gen(5);
  ImageTransform t;
  t.flip_p = 0.5;
  DataLoader loader(data, kN, nullptr, false, t, gen);
  int64_t flipped = 0, total = 0;
  for (int epoch = 0; epoch < 20; ++epoch)
    for (const Batch& b : loader.epoch()) {
      const auto in = b.inputs.to_vector<double>();
      for (int64_t j = 0; j < b.size(); ++j) {
        bool same = true, mirror = true;
        for (int64_t c = 0; c < kC; ++c)
          for (int64_t y = 0; y < kH; ++y)
            for (int64_t x = 0; x < kW; ++x) {
              const double v = in[((j * kC + c) * kH + y) * kW + x] * 255.0;
              same = same && std::fabs(v - pixel(j, c, y, x)) < 1e-3;
              mirror = mirror && std::fabs(v - pixel(j, c, y, kW - 1 - x)) < 1e-3;
            }
        ASSERT_TRUE(same || mirror) << "sample " << j << " is neither the image nor its mirror";
        flipped += mirror && !same;
        ++total;
      }
    }
  EXPECT_NEAR(double(flipped), total * 0.5, 4 * std::sqrt(total * 0.25));
}

TEST(DataLoader, RandomCropShiftsWithZeroPadding) {
  const Dataset data = synthetic_images();
  Generator gen(6);
  ImageTransform t;
  t.crop_padding = 2;
  DataLoader loader(data, kN, nullptr, false, t, gen);
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (int epoch = 0; epoch < 10; ++epoch)
    for (const Batch& b : loader.epoch()) {
      const auto in = b.inputs.to_vector<double>();
      for (int64_t j = 0; j < b.size(); ++j) {
        // Find the (dy, dx) in [-2, 2]^2 that explains the crop; exactly one must.
        int matches = 0;
        for (int64_t dy = -2; dy <= 2; ++dy)
          for (int64_t dx = -2; dx <= 2; ++dx) {
            bool ok = true;
            for (int64_t c = 0; c < kC && ok; ++c)
              for (int64_t y = 0; y < kH && ok; ++y)
                for (int64_t x = 0; x < kW && ok; ++x) {
                  const int64_t sy = y + dy, sx = x + dx;
                  const double want = (sy >= 0 && sy < kH && sx >= 0 && sx < kW) ? pixel(j, c, sy, sx) : 0.0;
                  ok = std::fabs(in[((j * kC + c) * kH + y) * kW + x] * 255.0 - want) < 1e-3;
                }
            if (ok) {
              ++matches;
              offsets.insert({dy, dx});
            }
          }
        ASSERT_GE(matches, 1) << "sample " << j << " is not a zero-padded crop";
      }
    }
  EXPECT_EQ(offsets.size(), 25u);  // every offset in [-2, 2]^2 occurs over 500 crops
}

TEST(DataLoader, TablesAreGatheredAsFloatRows) {
  Dataset table{Tensor::from_vector<float>({0, 1, 10, 11, 20, 21}, {3, 2}),
                Tensor::from_vector<float>({5, 6, 7}, {3, 1}),
                {}};
  DataLoader loader(table, 2);
  const auto batches = loader.epoch();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].inputs.to_vector<float>(), (std::vector<float>{0, 1, 10, 11}));
  EXPECT_EQ(batches[1].targets.to_vector<float>(), (std::vector<float>{7}));
}

TEST(DataLoader, BadConfigurationIsAnError) {
  const Dataset data = synthetic_images();
  EXPECT_THROW(DataLoader(data, 0), Error);
  EXPECT_THROW(DataLoader(data, 4, nullptr, false, {{0.5f}, {}}), Error);           // 1 mean for 3 channels
  EXPECT_THROW(DataLoader(data, 4, nullptr, false, {{}, {1.f, 0.f, 1.f}}), Error);  // std 0
  DataLoader loader(data, 4);
  Batch b;
  EXPECT_THROW(loader.next(b), Error);  // next before start_epoch
}

TEST(DataLoader, CudaBatchesEqualCpuBatches) {
  KILN_REQUIRE_CUDA();
  const Dataset cpu = synthetic_images(), gpu = synthetic_images(Device::cuda());
  ImageTransform t{kMean, kStd, 0.5, 2};
  Generator gc(8), gg(8);
  DataLoader lc(cpu, 8, std::make_shared<RandomSampler>(kN), false, t, gc);
  DataLoader lg(gpu, 8, std::make_shared<RandomSampler>(kN), false, t, gg);
  const auto bc = lc.epoch(), bg = lg.epoch();
  ASSERT_EQ(bc.size(), bg.size());
  for (size_t i = 0; i < bc.size(); ++i) {
    EXPECT_TRUE(testing::bit_equal(bc[i].inputs, bg[i].inputs)) << "batch " << i;
    EXPECT_TRUE(testing::bit_equal(bc[i].targets, bg[i].targets)) << "batch " << i;
  }
}

}  // namespace
}  // namespace kiln
