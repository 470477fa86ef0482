// DistributedSampler against torch's rules, written out independently in the test the way
// torch writes them (pad by concatenating the order's head, cut, then slice rank::world):
// exact shards for sequential orders, disjoint shards that cover the epoch, equal lengths,
// drop_last, per-epoch reshuffling from (seed, epoch), composition with the weighted and
// subset samplers, and every argument check. ShardedBatchSampler against one process's
// batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "samplers/distributed.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::mentions;

// torch.utils.data.distributed.DistributedSampler.__iter__, step by step on a given order.
std::vector<int64_t> torch_shard(std::vector<int64_t> indices, int64_t world, int64_t rank, bool drop_last) {
  const auto n = static_cast<int64_t>(indices.size());
  int64_t num_samples;
  if (drop_last && n % world != 0) {
    // math.ceil((n - world) / world) with Python's real division.
    const double q = static_cast<double>(n - world) / static_cast<double>(world);
    num_samples = static_cast<int64_t>(std::ceil(q));
  } else {
    num_samples = static_cast<int64_t>(std::ceil(static_cast<double>(n) / static_cast<double>(world)));
  }
  const int64_t total = num_samples * world;
  if (!drop_last) {
    const int64_t padding = total - n;
    if (padding <= n) {
      indices.insert(indices.end(), indices.begin(), indices.begin() + padding);
    } else {
      std::vector<int64_t> repeated;
      const int64_t copies = (padding + n - 1) / n;
      for (int64_t c = 0; c < copies; ++c) repeated.insert(repeated.end(), indices.begin(), indices.end());
      indices.insert(indices.end(), repeated.begin(), repeated.begin() + padding);
    }
  } else {
    indices.resize(static_cast<size_t>(total));
  }
  EXPECT_EQ(static_cast<int64_t>(indices.size()), total);
  std::vector<int64_t> shard;
  for (int64_t i = rank; i < total; i += world) shard.push_back(indices[static_cast<size_t>(i)]);
  EXPECT_EQ(static_cast<int64_t>(shard.size()), num_samples);
  return shard;
}

// The epoch a wrapped sampler draws for (seed, epoch): its generator's seed and offset.
std::vector<int64_t> epoch_of(Sampler& inner, uint64_t seed, int64_t epoch) {
  Generator gen(seed);
  gen.set_offset(static_cast<uint64_t>(epoch));
  return inner.epoch_indices(gen);
}

std::vector<int64_t> shard_of(DistributedSampler& s) {
  Generator unused(12345);
  return s.epoch_indices(unused);
}

TEST(DistributedSampler, SequentialShardsArePaddedFromTheStart) {
  // n = 10 over 3 ranks: ceil(10/3) = 4 each, padded order 0..9, 0, 1.
  const std::vector<std::vector<int64_t>> want = {{0, 3, 6, 9}, {1, 4, 7, 0}, {2, 5, 8, 1}};
  for (int64_t r = 0; r < 3; ++r) {
    auto s = DistributedSampler::over_range(10, 3, r, /*shuffle=*/false);
    EXPECT_EQ(s->size(), 4);
    EXPECT_EQ(s->total_size(), 12);
    EXPECT_EQ(shard_of(*s), want[static_cast<size_t>(r)]) << "rank " << r;
  }
}

TEST(DistributedSampler, SequentialShardsWithDropLastCutTheTail) {
  // n = 10 over 3 ranks, drop_last: floor(10/3) = 3 each; indices 9 is dropped.
  const std::vector<std::vector<int64_t>> want = {{0, 3, 6}, {1, 4, 7}, {2, 5, 8}};
  for (int64_t r = 0; r < 3; ++r) {
    auto s = DistributedSampler::over_range(10, 3, r, /*shuffle=*/false, 0, /*drop_last=*/true);
    EXPECT_EQ(s->size(), 3);
    EXPECT_EQ(shard_of(*s), want[static_cast<size_t>(r)]) << "rank " << r;
  }
}

TEST(DistributedSampler, FewerSamplesThanRanksRepeatsTheOrder) {
  // n = 2 over 5 ranks: one each, the padded order 0, 1, 0, 1, 0 (padding longer than n).
  for (int64_t r = 0; r < 5; ++r) {
    auto s = DistributedSampler::over_range(2, 5, r, false);
    EXPECT_EQ(shard_of(*s), (std::vector<int64_t>{r % 2})) << "rank " << r;
    auto d = DistributedSampler::over_range(2, 5, r, false, 0, true);
    EXPECT_EQ(d->size(), 0);
    EXPECT_TRUE(shard_of(*d).empty());
  }
  auto empty = DistributedSampler::over_range(0, 4, 1, true);
  EXPECT_EQ(empty->size(), 0);
  EXPECT_TRUE(shard_of(*empty).empty());
}

TEST(DistributedSampler, MatchesTorchRulesOnShuffledOrders) {
  for (int64_t n : {0, 1, 5, 7, 16, 33, 100}) {
    for (int64_t world : {1, 2, 3, 4, 8}) {
      for (bool drop_last : {false, true}) {
        for (int64_t epoch : {0, 3}) {
          RandomSampler reference_inner(n);
          const std::vector<int64_t> order = epoch_of(reference_inner, 7, epoch);
          for (int64_t r = 0; r < world; ++r) {
            auto s = DistributedSampler::over_range(n, world, r, true, 7, drop_last);
            s->set_epoch(epoch);
            const std::vector<int64_t> got = shard_of(*s);
            EXPECT_EQ(got, torch_shard(order, world, r, drop_last))
                << "n " << n << " world " << world << " rank " << r << " drop_last " << drop_last;
            EXPECT_EQ(static_cast<int64_t>(got.size()), s->size());
          }
        }
      }
    }
  }
}

TEST(DistributedSampler, ShardsAreDisjointAndCoverTheEpoch) {
  for (int64_t world : {2, 3, 4}) {
    const int64_t n = 12 * 5;  // divisible by every world size: no padding, nothing dropped
    std::vector<int64_t> all;
    std::set<int64_t> lengths;
    for (int64_t r = 0; r < world; ++r) {
      auto s = DistributedSampler::over_range(n, world, r, true, 3);
      s->set_epoch(2);
      const std::vector<int64_t> shard = shard_of(*s);
      lengths.insert(static_cast<int64_t>(shard.size()));
      all.insert(all.end(), shard.begin(), shard.end());
    }
    EXPECT_EQ(lengths, (std::set<int64_t>{n / world}));
    std::sort(all.begin(), all.end());
    std::vector<int64_t> want(static_cast<size_t>(n));
    std::iota(want.begin(), want.end(), int64_t{0});
    EXPECT_EQ(all, want) << "world " << world << ": every index exactly once";
  }
}

TEST(DistributedSampler, PaddingRepeatsOnlyTheHeadOfTheOrder) {
  // n = 10 over 4 ranks: 3 each, 12 entries: every index once, plus the epoch's first two
  // indices a second time. With drop_last: 2 each, the epoch's first 8 indices once.
  const int64_t n = 10, world = 4;
  RandomSampler reference_inner(n);
  const std::vector<int64_t> order = epoch_of(reference_inner, 5, 1);
  for (bool drop_last : {false, true}) {
    std::map<int64_t, int> counts;
    std::set<int64_t> lengths;
    for (int64_t r = 0; r < world; ++r) {
      auto s = DistributedSampler::over_range(n, world, r, true, 5, drop_last);
      s->set_epoch(1);
      const std::vector<int64_t> shard = shard_of(*s);
      lengths.insert(static_cast<int64_t>(shard.size()));
      for (int64_t i : shard) ++counts[i];
    }
    std::map<int64_t, int> want;
    if (!drop_last) {
      for (int64_t i : order) ++want[i];
      ++want[order[0]];
      ++want[order[1]];
      EXPECT_EQ(lengths, (std::set<int64_t>{3}));
    } else {
      for (size_t k = 0; k < 8; ++k) ++want[order[k]];
      EXPECT_EQ(lengths, (std::set<int64_t>{2}));
    }
    EXPECT_EQ(counts, want) << "drop_last " << drop_last;
  }
}

TEST(DistributedSampler, EpochAndSeedDecideTheOrderNotTheCallersGenerator) {
  auto a = DistributedSampler::over_range(50, 2, 0, true, 11);
  auto b = DistributedSampler::over_range(50, 2, 0, true, 11);
  Generator g1(1), g2(999);
  g2.set_offset(77);
  const std::vector<int64_t> first = a->epoch_indices(g1);
  EXPECT_EQ(first, b->epoch_indices(g2)) << "same seed and epoch, different caller generators";
  EXPECT_EQ(g1.offset(), 0u) << "the caller's generator is not advanced";
  EXPECT_EQ(g2.offset(), 77u);
  EXPECT_EQ(a->epoch_indices(g1), first) << "without set_epoch the order repeats (as torch)";
  a->set_epoch(1);
  EXPECT_NE(a->epoch_indices(g1), first) << "a new epoch reshuffles";
  a->set_epoch(0);
  EXPECT_EQ(a->epoch_indices(g1), first) << "epoch 0 again: the same order";
  auto c = DistributedSampler::over_range(50, 2, 0, true, 12);
  EXPECT_NE(c->epoch_indices(g1), first) << "another seed, another order";
}

TEST(DistributedSampler, WrapsTheWeightedSampler) {
  std::vector<double> weights = {1, 0, 3, 0.5, 2, 0, 4};
  for (bool replacement : {true, false}) {
    const int64_t num = replacement ? 9 : 4;
    auto inner = std::make_shared<WeightedRandomSampler>(weights, num, replacement);
    WeightedRandomSampler reference_inner(weights, num, replacement);
    const std::vector<int64_t> order = epoch_of(reference_inner, 21, 4);
    for (int64_t r = 0; r < 3; ++r) {
      DistributedSampler s(inner, 3, r, 21);
      s.set_epoch(4);
      EXPECT_EQ(s.size(), replacement ? 3 : 2);
      const std::vector<int64_t> shard = shard_of(s);
      EXPECT_EQ(shard, torch_shard(order, 3, r, false)) << "rank " << r;
      for (int64_t i : shard)
        EXPECT_GT(weights[static_cast<size_t>(i)], 0.0) << "a zero-weight index was drawn";
    }
  }
}

TEST(DistributedSampler, WrapsTheSubsetSampler) {
  const std::vector<int64_t> subset = {40, 3, 17, 8, 99, 23};
  auto inner = std::make_shared<SubsetRandomSampler>(subset);
  std::vector<int64_t> all;
  for (int64_t r = 0; r < 2; ++r) {
    DistributedSampler s(inner, 2, r, 8);
    const std::vector<int64_t> shard = shard_of(s);
    EXPECT_EQ(shard.size(), 3u);
    all.insert(all.end(), shard.begin(), shard.end());
  }
  std::vector<int64_t> want = subset;
  std::sort(want.begin(), want.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, want);
}

TEST(DistributedSampler, RejectsBadArguments) {
  auto inner = std::make_shared<SequentialSampler>(4);
  EXPECT_TRUE(mentions(error_of([&] { DistributedSampler(inner, 0, 0); }), {"world_size", ">= 1", "0"}));
  EXPECT_TRUE(mentions(error_of([&] { DistributedSampler(inner, 2, 2); }), {"rank 2", "[0, 2)"}));
  EXPECT_TRUE(mentions(error_of([&] { DistributedSampler(inner, 2, -1); }), {"rank -1"}));
  EXPECT_TRUE(mentions(error_of([&] { DistributedSampler(nullptr, 2, 0); }), {"null"}));
  DistributedSampler s(inner, 2, 0);
  EXPECT_TRUE(mentions(error_of([&] { s.set_epoch(-3); }), {"epoch", "-3"}));
}

TEST(ShardedBatchSampler, DealsWholeBatchesInTurn) {
  // 23 samples in batches of 5: [0..4] [5..9] [10..14] [15..19] [20..22], dealt to 2 ranks.
  Generator gen(1);
  ShardedBatchSampler r0(23, 5, 2, 0), r1(23, 5, 2, 1);
  EXPECT_EQ(r0.epoch_indices(gen), (std::vector<int64_t>{0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22}));
  EXPECT_EQ(r1.epoch_indices(gen), (std::vector<int64_t>{5, 6, 7, 8, 9, 15, 16, 17, 18, 19}));
  EXPECT_EQ(r0.size(), 13);
  EXPECT_EQ(r1.size(), 10);
  EXPECT_EQ(gen.offset(), 0u) << "draws nothing";
}

TEST(ShardedBatchSampler, PartitionsTheDataIntoOneProcesssBatches) {
  for (int64_t n : {0, 1, 9, 40, 41}) {
    for (int64_t batch : {1, 4, 8}) {
      for (int64_t world : {1, 2, 3, 5}) {
        // One process's batches: consecutive runs of `batch` indices from 0.
        std::vector<std::vector<int64_t>> want_batches;
        for (int64_t s = 0; s < n; s += batch) {
          std::vector<int64_t> b;
          for (int64_t i = s; i < std::min(s + batch, n); ++i) b.push_back(i);
          want_batches.push_back(b);
        }
        std::vector<std::vector<int64_t>> got_batches;
        for (int64_t r = 0; r < world; ++r) {
          ShardedBatchSampler s(n, batch, world, r);
          Generator gen(0);
          const std::vector<int64_t> shard = s.epoch_indices(gen);
          EXPECT_EQ(static_cast<int64_t>(shard.size()), s.size());
          // Cut as the DataLoader cuts: runs of `batch` from the shard's start.
          for (size_t k = 0; k < shard.size(); k += static_cast<size_t>(batch)) {
            got_batches.emplace_back(shard.begin() + k, shard.begin() + std::min(shard.size(), k + batch));
          }
        }
        std::sort(got_batches.begin(), got_batches.end());
        std::sort(want_batches.begin(), want_batches.end());
        EXPECT_EQ(got_batches, want_batches) << "n " << n << " batch " << batch << " world " << world;
      }
    }
  }
}

TEST(ShardedBatchSampler, RejectsBadArguments) {
  EXPECT_TRUE(mentions(error_of([] { ShardedBatchSampler(-1, 4, 2, 0); }), {"n must be >= 0"}));
  EXPECT_TRUE(mentions(error_of([] { ShardedBatchSampler(10, 0, 2, 0); }), {"batch_size", "0"}));
  EXPECT_TRUE(mentions(error_of([] { ShardedBatchSampler(10, 4, 0, 0); }), {"world_size"}));
  EXPECT_TRUE(mentions(error_of([] { ShardedBatchSampler(10, 4, 2, 2); }), {"rank 2", "[0, 2)"}));
}

}  // namespace
}  // namespace kiln
