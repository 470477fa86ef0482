// DistributedSampler: each process of a data-parallel run takes a disjoint shard of every
// epoch, with torch.utils.data.distributed.DistributedSampler's rules for length, padding,
// drop_last and striding. It wraps any other sampler (sequential, random, weighted, subset):
// every rank draws the SAME full epoch from the wrapped sampler, then keeps its own shard, so
// the shards of one epoch partition that epoch's order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "samplers/sampler.h"

namespace kiln {

// With L the wrapped sampler's epoch (n = L.size() indices) and W = world_size:
//   drop_last = false: size() = ceil(n / W); the order is padded to size() * W entries by
//                      repeating L from its start (entry i is L[i mod n]);
//   drop_last = true:  size() = floor(n / W); the order is cut to size() * W entries;
// and rank r keeps entries r, r + W, r + 2W, ... (torch's indices[rank:total:world]).
// The wrapped sampler draws from a generator that is a pure function of (seed, epoch): seed
// `seed`, offset `epoch`. Every rank passes the same seed and sets the same epoch, so the
// ranks agree on the order whatever their own random streams have done; set_epoch before each
// epoch changes the order (without it every epoch repeats epoch 0, as in torch). The
// generator passed to epoch_indices is not used: the ranks' own streams may differ.
class DistributedSampler final : public Sampler {
 public:
  DistributedSampler(std::shared_ptr<Sampler> inner, int64_t world_size, int64_t rank, uint64_t seed = 0,
                     bool drop_last = false);
  // torch's DistributedSampler(dataset of n samples, shuffle, seed, drop_last): a random
  // permutation of 0..n-1 per epoch when shuffle, else 0..n-1.
  static std::shared_ptr<DistributedSampler> over_range(int64_t n, int64_t world_size, int64_t rank,
                                                        bool shuffle = true, uint64_t seed = 0,
                                                        bool drop_last = false);

  std::vector<int64_t> epoch_indices(Generator& gen) override;
  int64_t size() const override { return num_samples_; }
  std::string name() const override { return "distributed(" + inner_->name() + ")"; }

  void set_epoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }
  int64_t world_size() const { return world_size_; }
  int64_t rank() const { return rank_; }
  bool drop_last() const { return drop_last_; }
  // Entries of one epoch over all ranks: size() * world_size().
  int64_t total_size() const { return num_samples_ * world_size_; }
  Sampler& inner() { return *inner_; }

 private:
  std::shared_ptr<Sampler> inner_;
  int64_t world_size_, rank_;
  uint64_t seed_;
  bool drop_last_;
  int64_t num_samples_;
  int64_t epoch_ = 0;
};

// Evaluation's shards: the batches of one sequential pass over 0..n-1 (batch_size each, the
// last possibly smaller) dealt to the ranks in turn, batch j to rank j mod world_size. Nothing
// is padded or dropped, so the shards partition the data, and with a DataLoader of the same
// batch_size (drop_last = false) every batch a rank evaluates is exactly a batch one process
// would: per-batch sums over all ranks equal one process's. Shards differ by at most one
// batch; a rank may have none. Draws nothing.
class ShardedBatchSampler final : public Sampler {
 public:
  ShardedBatchSampler(int64_t n, int64_t batch_size, int64_t world_size, int64_t rank);
  std::vector<int64_t> epoch_indices(Generator& gen) override;
  int64_t size() const override { return size_; }
  std::string name() const override { return "sharded-batches"; }

 private:
  int64_t n_, batch_size_, world_size_, rank_, size_ = 0;
};

}  // namespace kiln
