// Samplers decide which sample indices an epoch visits, and in what order, like
// torch.utils.data samplers. They run on the host once per epoch and return the whole order;
// the DataLoader uploads it once and gathers every batch on the device. Randomness comes
// from a kiln::Generator (Philox), so an epoch's order is a pure function of (seed, offset)
// and a checkpoint can resume it exactly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"

namespace kiln {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // The indices of one epoch. Random samplers take exactly one offset of `gen` per call
  // (even when there is nothing to shuffle); SequentialSampler takes none.
  virtual std::vector<int64_t> epoch_indices(Generator& gen) = 0;
  // How many indices epoch_indices returns.
  virtual int64_t size() const = 0;
  virtual std::string name() const = 0;
};

// 0, 1, ..., n-1 every epoch.
class SequentialSampler final : public Sampler {
 public:
  explicit SequentialSampler(int64_t n);
  std::vector<int64_t> epoch_indices(Generator& gen) override;
  int64_t size() const override { return n_; }
  std::string name() const override { return "sequential"; }

 private:
  int64_t n_;
};

// A uniformly random permutation of 0..n-1 each epoch (shuffle=True).
class RandomSampler final : public Sampler {
 public:
  explicit RandomSampler(int64_t n);
  std::vector<int64_t> epoch_indices(Generator& gen) override;
  int64_t size() const override { return n_; }
  std::string name() const override { return "random"; }

 private:
  int64_t n_;
};

// A random permutation of the given indices each epoch (torch's SubsetRandomSampler).
class SubsetRandomSampler final : public Sampler {
 public:
  explicit SubsetRandomSampler(std::vector<int64_t> indices);
  std::vector<int64_t> epoch_indices(Generator& gen) override;
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  std::string name() const override { return "subset-random"; }

 private:
  std::vector<int64_t> indices_;
};

// torch.utils.data.WeightedRandomSampler(weights, num_samples, replacement): index i is
// drawn with probability weights[i] / sum(weights). With replacement every draw is
// independent; without, draws are sequential without replacement (each draw proportional
// to the remaining weights), and num_samples must not exceed the number of positive weights.
// Weights must be finite and >= 0 with a positive sum.
class WeightedRandomSampler final : public Sampler {
 public:
  WeightedRandomSampler(std::vector<double> weights, int64_t num_samples, bool replacement = true);
  std::vector<int64_t> epoch_indices(Generator& gen) override;
  int64_t size() const override { return num_samples_; }
  std::string name() const override {
    return replacement_ ? "weighted-random" : "weighted-random-no-replacement";
  }
  const std::vector<double>& weights() const { return weights_; }

 private:
  std::vector<double> weights_;
  int64_t num_samples_;
  bool replacement_;
};

// weight[i] = 1 / count[labels[i]]: every class gets the same total weight, whatever the
// order of the samples (the tutorial's make_weights is right only for class-sorted data).
// `labels` is a host-readable int64 tensor [N] with values in [0, num_classes).
std::vector<double> class_balanced_weights(const Tensor& labels, int64_t num_classes);

// Splits 0..n-1 into a random train part (`first`, n - validation_count indices) and a
// validation part (`second`, validation_count indices), both in the order of one uniform
// permutation (torch.utils.data.random_split with a seeded generator). One generator offset.
struct Split {
  std::vector<int64_t> first, second;
};
Split random_split(int64_t n, int64_t validation_count, Generator& gen);

// The tutorial's balanced_subset: for each class, shuffle its indices and put the first
// per_class of them in `first`, the rest in `second` (both in class order, then shuffled
// order within a class, as the tutorial concatenates). The results are indices into
// `labels`. Errors if a class has fewer than per_class samples. One generator offset for the
// whole call; nothing is drawn when an argument is rejected.
Split balanced_subset(const Tensor& labels, int64_t num_classes, int64_t per_class, Generator& gen);

}  // namespace kiln
