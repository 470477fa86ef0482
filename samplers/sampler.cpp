// Host implementations of the samplers and index splits in sampler.h.
// Every random decision reads Philox words of ONE generator offset per call, so an epoch's
// order, a split or a subset is a pure function of (seed, offset) and of the arguments.
#include "samplers/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "core/philox.h"
#include "core/random_math.h"

namespace kiln {
namespace {

// The words of one random op, read in order: word i is philox::draw_u32(seed, offset, i).
// Philox yields four words per block; the stream keeps the current block so each costs one
// Philox evaluation per four words instead of one per word.
class WordStream {
 public:
  WordStream(uint64_t seed, uint64_t offset) : seed_(seed), offset_(offset) {}

  uint32_t next_u32() {
    if ((next_ & 3) == 0) block_ = philox::draw_block(seed_, offset_, next_ >> 2);
    return block_.v[next_++ & 3];
  }
  // Two consecutive words, the first as the high half.
  uint64_t next_u64() {
    const uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  // Uniform integer in [0, bound), bound >= 1, exactly unbiased: Lemire's multiply-shift
  // ("Fast random integer generation in an interval", ACM TOMACS 2019) on 64-bit words, with
  // rejection of the (bound-dependent, < bound / 2^64) sliver of words that would favour
  // some results. One code path for every bound, so sizes beyond 2^32 need nothing special.
  uint64_t below(uint64_t bound) {
    unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * bound;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < bound) {
      const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next_u64()) * bound;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

 private:
  uint64_t seed_, offset_;
  uint64_t next_ = 0;
  philox::U32x4 block_{};
};

// Element j's 64-bit word in random op `offset`: words 2j (high half) and 2j+1 of the op,
// i.e. (draw_u32(seed, offset, 2j) << 32) | draw_u32(seed, offset, 2j + 1), from the one
// Philox block that holds both. Element-addressed, so draw j never depends on draws < j.
uint64_t u64_at(uint64_t seed, uint64_t offset, uint64_t j) {
  const philox::U32x4 block = philox::draw_block(seed, offset, j >> 1);
  const int pair = static_cast<int>(j & 1) * 2;
  return (uint64_t{block.v[pair]} << 32) | block.v[pair + 1];
}

// Top 53 bits of a 64-bit word as a double in [0, 1) (2^-53 steps): the full resolution
// of a double, so weights as small as 2^-53 of the total are still drawn.
double unit_53(uint64_t word) { return static_cast<double>(word >> 11) * 0x1.0p-53; }

// Fisher-Yates (Durstenfeld's in-place form): for p = n-1 down to 1, position p swaps with a
// uniform position in [0, p]. With unbiased integer draws every permutation has probability
// exactly 1/n!.
void shuffle_in_place(std::vector<int64_t>& values, WordStream& words) {
  for (size_t j = values.size(); j > 1; --j) {
    const uint64_t k = words.below(j);
    std::swap(values[j - 1], values[k]);
  }
}

std::vector<int64_t> iota_indices(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), int64_t{0});
  return out;
}

// Reads labels (any device, any strides) to the host after checking they are an int64
// vector with every value in [0, num_classes). `who` names the caller in errors.
std::vector<int64_t> host_labels(const Tensor& labels, int64_t num_classes, const char* who) {
  KILN_CHECK(labels.defined(), who, ": labels tensor is undefined");
  KILN_CHECK(labels.dtype() == DType::Int64, who, ": labels must be int64, got ", dtype_name(labels.dtype()));
  KILN_CHECK(labels.dim() == 1, who, ": labels must be a 1-d tensor [N], got shape ",
             shape_str(labels.shape()));
  KILN_CHECK(num_classes > 0, who, ": num_classes must be > 0, got ", num_classes);
  std::vector<int64_t> values = labels.to_vector<int64_t>();
  for (size_t i = 0; i < values.size(); ++i) {
    KILN_CHECK(values[i] >= 0 && values[i] < num_classes, who, ": label ", values[i], " at index ", i,
               " is outside [0, ", num_classes, ")");
  }
  return values;
}

}  // namespace

// ---- SequentialSampler ----------------------------------------------------------------------

SequentialSampler::SequentialSampler(int64_t n) : n_(n) {
  KILN_CHECK(n >= 0, "SequentialSampler: n must be >= 0, got ", n);
}

// Draws nothing, so interleaving a sequential loader leaves a generator's stream untouched.
std::vector<int64_t> SequentialSampler::epoch_indices(Generator&) { return iota_indices(n_); }

// ---- RandomSampler --------------------------------------------------------------------------

RandomSampler::RandomSampler(int64_t n) : n_(n) {
  KILN_CHECK(n >= 0, "RandomSampler: n must be >= 0, got ", n);
}

// One offset per epoch even when n < 2, so the offsets an epoch uses never depend on n.
std::vector<int64_t> RandomSampler::epoch_indices(Generator& gen) {
  WordStream words(gen.seed(), gen.next_offset());
  std::vector<int64_t> order = iota_indices(n_);
  shuffle_in_place(order, words);
  return order;
}

// ---- SubsetRandomSampler --------------------------------------------------------------------

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices) : indices_(std::move(indices)) {
  for (size_t i = 0; i < indices_.size(); ++i) {
    KILN_CHECK(indices_[i] >= 0, "SubsetRandomSampler: index ", indices_[i], " at position ", i,
               " is negative; sample indices must be >= 0");
  }
}

std::vector<int64_t> SubsetRandomSampler::epoch_indices(Generator& gen) {
  WordStream words(gen.seed(), gen.next_offset());
  std::vector<int64_t> order = indices_;
  shuffle_in_place(order, words);
  return order;
}

// ---- WeightedRandomSampler ------------------------------------------------------------------

WeightedRandomSampler::WeightedRandomSampler(std::vector<double> weights, int64_t num_samples,
                                             bool replacement)
    : weights_(std::move(weights)), num_samples_(num_samples), replacement_(replacement) {
  const char* who = "WeightedRandomSampler";
  KILN_CHECK(!weights_.empty(), who, ": weights must not be empty");
  KILN_CHECK(num_samples_ > 0, who, ": num_samples must be > 0, got ", num_samples_);
  double total = 0;
  int64_t positive = 0;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const double w = weights_[i];
    KILN_CHECK(std::isfinite(w), who, ": weight ", i, " is ", w, "; weights must be finite");
    KILN_CHECK(w >= 0, who, ": weight ", i, " is ", w, "; weights must be >= 0");
    total += w;
    positive += w > 0;
  }
  KILN_CHECK(positive > 0, who, ": all ", weights_.size(),
             " weights are zero; at least one must be positive");
  KILN_CHECK(std::isfinite(total), who, ": the weights sum to ", total, "; their sum must be finite");
  KILN_CHECK(replacement_ || num_samples_ <= positive, who, ": num_samples ", num_samples_, " exceeds the ",
             positive, " positive weights, the most that can be drawn without replacement");
}

std::vector<int64_t> WeightedRandomSampler::epoch_indices(Generator& gen) {
  const uint64_t seed = gen.seed(), offset = gen.next_offset();
  const size_t n = weights_.size();
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));

  if (replacement_) {
    // Inverse CDF: draw j takes words 2j, 2j+1 as a 53-bit uniform u and returns the first
    // i whose inclusive prefix sum exceeds u * total. A zero weight repeats its predecessor's
    // prefix sum, so it is never the FIRST to exceed anything: zero-weight indices never
    // come out. Prefix sums of non-negative doubles are non-decreasing, as the search needs.
    std::vector<double> cdf(n);
    double running = 0;
    for (size_t i = 0; i < n; ++i) cdf[i] = running += weights_[i];
    const double total = cdf.back();
    // u * total can round up to total itself (u < 1 but the product is rounded); that draw
    // belongs to the last positive weight, whose prefix sum first reaches total.
    const size_t last_positive =
        static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), total) - cdf.begin());
    for (int64_t j = 0; j < num_samples_; ++j) {
      const double target = unit_53(u64_at(seed, offset, static_cast<uint64_t>(j))) * total;
      size_t i = static_cast<size_t>(std::upper_bound(cdf.begin(), cdf.end(), target) - cdf.begin());
      if (i >= n) i = last_positive;
      out.push_back(static_cast<int64_t>(i));
    }
    return out;
  }

  // Without replacement: Efraimidis and Spirakis, "Weighted random sampling with a
  // reservoir" (Information Processing Letters 97(5), 2006). Each positive-weight item i gets
  // key_i = -log(u_i) / w_i, an Exponential(rate w_i) variable; the item with the smallest key
  // is item i with probability w_i / sum(w), and by memorylessness the remaining keys are
  // again independent exponentials, so listing the num_samples smallest keys in increasing
  // order has exactly the distribution of sequential weighted draws without replacement.
  // Item i uses words 2i, 2i+1; u_i is in (0, 1] so the log is finite. The log is kiln's
  // portable one, so the keys (and the order) are identical whatever libm the host has.
  std::vector<std::pair<double, int64_t>> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (weights_[i] <= 0) continue;  // zero weight: never drawn
    const double u = static_cast<double>((u64_at(seed, offset, i) >> 11) + 1) * 0x1.0p-53;
    keys.emplace_back(-philox::portable_log(u) / weights_[i], static_cast<int64_t>(i));
  }
  // Keys stay finite for any weight above ~2e-307 (-log u <= 37). Ties in key (probability
  // ~2^-53 per pair) fall back to the index, so the result is still deterministic.
  const auto k = static_cast<std::ptrdiff_t>(num_samples_);
  std::partial_sort(keys.begin(), keys.begin() + k, keys.end());
  for (std::ptrdiff_t j = 0; j < k; ++j) out.push_back(keys[static_cast<size_t>(j)].second);
  return out;
}

// ---- class_balanced_weights -----------------------------------------------------------------

// Counts every class first and then looks each sample's count up by its own label, so the
// weights are right for any sample order (the tutorial's make_weights lists 1/count class by
// class, which lines up with the samples only when they are sorted by class).
std::vector<double> class_balanced_weights(const Tensor& labels, int64_t num_classes) {
  const std::vector<int64_t> values = host_labels(labels, num_classes, "class_balanced_weights");
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (int64_t label : values) ++counts[static_cast<size_t>(label)];
  std::vector<double> weights(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    weights[i] = 1.0 / static_cast<double>(counts[static_cast<size_t>(values[i])]);
  }
  return weights;
}

// ---- random_split ---------------------------------------------------------------------------

// A uniform permutation of 0..n-1 (one offset), cut after its first n - validation_count
// entries: like torch's random_split([n - v, v]) on randperm(n). Both parts keep the
// permutation's order.
Split random_split(int64_t n, int64_t validation_count, Generator& gen) {
  KILN_CHECK(n >= 0, "random_split: n must be >= 0, got ", n);
  KILN_CHECK(validation_count >= 0 && validation_count <= n, "random_split: validation_count must be in [0, ",
             n, "], got ", validation_count);
  WordStream words(gen.seed(), gen.next_offset());
  std::vector<int64_t> order = iota_indices(n);
  shuffle_in_place(order, words);
  const auto cut = order.begin() + (n - validation_count);
  return Split{std::vector<int64_t>(order.begin(), cut), std::vector<int64_t>(cut, order.end())};
}

// ---- balanced_subset ------------------------------------------------------------------------

// One offset for the whole call: the classes are shuffled in class order from one word
// stream (class 0's Fisher-Yates draws, then class 1's, ...). Every argument, including each
// class's count, is checked before the generator advances, so a failed call consumes nothing.
// Unlike the tutorial (which indexes the data by positions WITHIN a class's index list), the
// returned indices are positions in `labels`, so every index in a class's block has that label.
Split balanced_subset(const Tensor& labels, int64_t num_classes, int64_t per_class, Generator& gen) {
  const std::vector<int64_t> values = host_labels(labels, num_classes, "balanced_subset");
  KILN_CHECK(per_class >= 0, "balanced_subset: per_class must be >= 0, got ", per_class);
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < values.size(); ++i)
    members[static_cast<size_t>(values[i])].push_back(static_cast<int64_t>(i));
  for (int64_t c = 0; c < num_classes; ++c) {
    const auto count = static_cast<int64_t>(members[static_cast<size_t>(c)].size());
    KILN_CHECK(count >= per_class, "balanced_subset: class ", c, " has ", count,
               " samples, fewer than per_class = ", per_class);
  }
  WordStream words(gen.seed(), gen.next_offset());
  Split split;
  split.first.reserve(static_cast<size_t>(per_class * num_classes));
  split.second.reserve(values.size() - static_cast<size_t>(per_class * num_classes));
  for (auto& idx : members) {
    shuffle_in_place(idx, words);
    split.first.insert(split.first.end(), idx.begin(), idx.begin() + per_class);
    split.second.insert(split.second.end(), idx.begin() + per_class, idx.end());
  }
  return split;
}

}  // namespace kiln
