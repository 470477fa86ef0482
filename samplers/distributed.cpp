// The shard arithmetic of DistributedSampler (see distributed.h): pad or cut the wrapped
// sampler's epoch to a multiple of the world size, then stride by it.
#include "samplers/distributed.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

namespace kiln {

DistributedSampler::DistributedSampler(std::shared_ptr<Sampler> inner, int64_t world_size, int64_t rank,
                                       uint64_t seed, bool drop_last)
    : inner_(std::move(inner)), world_size_(world_size), rank_(rank), seed_(seed), drop_last_(drop_last) {
  KILN_CHECK(inner_ != nullptr, "DistributedSampler: the wrapped sampler is null");
  KILN_CHECK(world_size_ >= 1, "DistributedSampler: world_size must be >= 1, got ", world_size_);
  KILN_CHECK(rank_ >= 0 && rank_ < world_size_, "DistributedSampler: rank ", rank_, " is outside [0, ",
             world_size_, ")");
  const int64_t n = inner_->size();
  KILN_CHECK(n >= 0, "DistributedSampler: the wrapped sampler has negative size ", n);
  // torch: ceil((n - W) / W) when drop_last and W does not divide n, which is floor(n / W)
  // for every n >= 0 (including n < W, where it is 0); ceil(n / W) otherwise.
  num_samples_ = drop_last_ ? n / world_size_ : (n + world_size_ - 1) / world_size_;
}

std::shared_ptr<DistributedSampler> DistributedSampler::over_range(int64_t n, int64_t world_size,
                                                                   int64_t rank, bool shuffle, uint64_t seed,
                                                                   bool drop_last) {
  std::shared_ptr<Sampler> inner;
  if (shuffle) {
    inner = std::make_shared<RandomSampler>(n);
  } else {
    inner = std::make_shared<SequentialSampler>(n);
  }
  return std::make_shared<DistributedSampler>(std::move(inner), world_size, rank, seed, drop_last);
}

void DistributedSampler::set_epoch(int64_t epoch) {
  KILN_CHECK(epoch >= 0, "DistributedSampler: epoch must be >= 0, got ", epoch);
  epoch_ = epoch;
}

std::vector<int64_t> DistributedSampler::epoch_indices(Generator&) {
  Generator epoch_gen(seed_);
  epoch_gen.set_offset(static_cast<uint64_t>(epoch_));
  const std::vector<int64_t> order = inner_->epoch_indices(epoch_gen);
  const auto n = static_cast<int64_t>(order.size());
  KILN_CHECK(n == inner_->size(), "DistributedSampler: the wrapped sampler ", inner_->name(), " returned ", n,
             " indices but its size() is ", inner_->size());
  std::vector<int64_t> shard;
  shard.reserve(static_cast<size_t>(num_samples_));
  // Entry i of the padded (or cut) order is order[i mod n]; rank r takes i = r + k * W.
  // num_samples_ > 0 implies n > 0, so the modulo never divides by zero.
  for (int64_t k = 0; k < num_samples_; ++k) {
    const int64_t i = rank_ + k * world_size_;
    shard.push_back(order[static_cast<size_t>(i % n)]);
  }
  return shard;
}

ShardedBatchSampler::ShardedBatchSampler(int64_t n, int64_t batch_size, int64_t world_size, int64_t rank)
    : n_(n), batch_size_(batch_size), world_size_(world_size), rank_(rank) {
  KILN_CHECK(n_ >= 0, "ShardedBatchSampler: n must be >= 0, got ", n_);
  KILN_CHECK(batch_size_ >= 1, "ShardedBatchSampler: batch_size must be >= 1, got ", batch_size_);
  KILN_CHECK(world_size_ >= 1, "ShardedBatchSampler: world_size must be >= 1, got ", world_size_);
  KILN_CHECK(rank_ >= 0 && rank_ < world_size_, "ShardedBatchSampler: rank ", rank_, " is outside [0, ",
             world_size_, ")");
  for (int64_t start = rank_ * batch_size_; start < n_; start += world_size_ * batch_size_) {
    size_ += std::min(batch_size_, n_ - start);
  }
}

std::vector<int64_t> ShardedBatchSampler::epoch_indices(Generator&) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(size_));
  for (int64_t start = rank_ * batch_size_; start < n_; start += world_size_ * batch_size_) {
    for (int64_t i = start; i < std::min(start + batch_size_, n_); ++i) out.push_back(i);
  }
  return out;
}

}  // namespace kiln
