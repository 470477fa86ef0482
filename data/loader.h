// DataLoader: turns a Dataset that lives on the compute device into batches, like
// torch.utils.data.DataLoader but with no host work per sample. Each epoch the sampler's
// order is uploaded once; each batch is one gather on the device which, for image data,
// also converts uint8 to float and applies Normalize / RandomHorizontalFlip / RandomCrop
// (kernels/transforms.h). Augmentation draws come from a Generator, so they are
// reproducible and identical on CPU and CUDA.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "samplers/sampler.h"

namespace kiln {

// torchvision's ToTensor + Normalize(mean, std) + optional RandomHorizontalFlip(p) and
// RandomCrop(size = image size, padding), applied on the device as one kernel.
struct ImageTransform {
  std::vector<float> mean;  // per channel; empty = 0
  std::vector<float> std;   // per channel; empty = 1
  double flip_p = 0.0;
  int64_t crop_padding = 0;
};

struct Batch {
  Tensor inputs;   // float32: [B, C, H, W] images (transformed) or [B, F] features
  Tensor targets;  // int64 [B] labels or float32 [B, T]
  Tensor indices;  // int64 [B]: which dataset samples these are
  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
};

class DataLoader {
 public:
  // `data` must stay alive while the loader is used. A null sampler means sequential.
  DataLoader(const Dataset& data, int64_t batch_size, std::shared_ptr<Sampler> sampler = nullptr,
             bool drop_last = false, ImageTransform transform = {}, Generator& gen = default_generator());

  int64_t batch_size() const { return batch_size_; }
  int64_t num_batches() const;  // per epoch
  int64_t samples_per_epoch() const;

  // Draws the epoch's order and uploads it. Then next() returns batches until it returns false.
  void start_epoch();
  bool next(Batch& out);
  // All batches of a fresh epoch as one call each, e.g. `for (auto& b : loader.epoch())`.
  std::vector<Batch> epoch();

  const Dataset& dataset() const { return data_; }
  Sampler& sampler() { return *sampler_; }
  const std::shared_ptr<Sampler>& shared_sampler() const { return sampler_; }
  // A loader over the same data with the same batch size, drop_last, transform and generator
  // that visits what `sampler` says (a process's shard of this loader's order, in
  // data-parallel training).
  DataLoader with_sampler(std::shared_ptr<Sampler> sampler) const;

 private:
  Batch gather(const Tensor& index) const;

  const Dataset& data_;
  int64_t batch_size_;
  std::shared_ptr<Sampler> sampler_;
  bool drop_last_;
  ImageTransform transform_;
  Generator& gen_;
  Tensor order_;  // this epoch's indices on the device
  int64_t cursor_ = 0;
};

}  // namespace kiln
