// DataLoader (see loader.h).
#include "data/loader.h"

#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/ops.h"
#include "kernels/transforms.h"

namespace kiln {

DataLoader::DataLoader(const Dataset& data, int64_t batch_size, std::shared_ptr<Sampler> sampler,
                       bool drop_last, ImageTransform transform, Generator& gen)
    : data_(data),
      batch_size_(batch_size),
      sampler_(sampler ? std::move(sampler) : std::make_shared<SequentialSampler>(data.size())),
      drop_last_(drop_last),
      transform_(std::move(transform)),
      gen_(gen) {
  KILN_CHECK(batch_size >= 1, "DataLoader: batch_size must be >= 1, got ", batch_size);
  KILN_CHECK(data.inputs.defined() && data.targets.defined() && data.targets.size(0) == data.size(),
             "DataLoader: dataset needs inputs and targets with the same number of samples");
  KILN_CHECK(data.inputs.device() == data.targets.device(),
             "DataLoader: dataset inputs and targets on different devices");
  const bool images = data.inputs.dtype() == DType::UInt8;
  if (images) {
    KILN_CHECK(data.inputs.dim() == 4, "DataLoader: uint8 image data must be [N, C, H, W], got ",
               shape_str(data.inputs.shape()));
    const int64_t c = data.inputs.size(1);
    KILN_CHECK(c <= kernels::kMaxTransformChannels, "DataLoader: at most ", kernels::kMaxTransformChannels,
               " image channels are supported, got ", c);
    KILN_CHECK(transform_.mean.empty() || static_cast<int64_t>(transform_.mean.size()) == c,
               "DataLoader: Normalize mean has ", transform_.mean.size(), " values for ", c, " channels");
    KILN_CHECK(transform_.std.empty() || static_cast<int64_t>(transform_.std.size()) == c,
               "DataLoader: Normalize std has ", transform_.std.size(), " values for ", c, " channels");
    for (float s : transform_.std) KILN_CHECK(s > 0, "DataLoader: Normalize std must be > 0, got ", s);
    KILN_CHECK(transform_.flip_p >= 0 && transform_.flip_p <= 1,
               "DataLoader: flip probability must be in [0, 1], got ", transform_.flip_p);
    KILN_CHECK(transform_.crop_padding >= 0, "DataLoader: crop padding must be >= 0, got ",
               transform_.crop_padding);
  } else {
    KILN_CHECK(transform_.mean.empty() && transform_.std.empty() && transform_.flip_p == 0 &&
                   transform_.crop_padding == 0,
               "DataLoader: image transforms need uint8 image data");
  }
}

DataLoader DataLoader::with_sampler(std::shared_ptr<Sampler> sampler) const {
  KILN_CHECK(sampler != nullptr, "DataLoader::with_sampler: the sampler is null");
  return DataLoader(data_, batch_size_, std::move(sampler), drop_last_, transform_, gen_);
}

int64_t DataLoader::samples_per_epoch() const { return sampler_->size(); }

int64_t DataLoader::num_batches() const {
  const int64_t n = samples_per_epoch();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

void DataLoader::start_epoch() {
  const std::vector<int64_t> order = sampler_->epoch_indices(gen_);
  order_ = Tensor::from_vector(order, {static_cast<int64_t>(order.size())}, data_.inputs.device());
  cursor_ = 0;
}

Batch DataLoader::gather(const Tensor& index) const {
  NoGradGuard no_grad;
  Batch b;
  b.indices = index;
  b.targets = index_select(data_.targets, index);
  if (data_.inputs.dtype() != DType::UInt8) {
    b.inputs = index_select(data_.inputs, index).to(DType::Float32);
    return b;
  }
  kernels::ImageBatchArgs a;
  a.batch = index.size(0);
  a.channels = data_.inputs.size(1);
  a.height = data_.inputs.size(2);
  a.width = data_.inputs.size(3);
  a.source_count = data_.size();
  for (int64_t c = 0; c < a.channels; ++c) {
    a.mean[c] = transform_.mean.empty() ? 0.0f : transform_.mean[c];
    a.inv_std[c] = transform_.std.empty() ? 1.0f : 1.0f / transform_.std[c];
  }
  a.flip_p = transform_.flip_p;
  a.crop_padding = transform_.crop_padding;
  a.seed = gen_.seed();
  a.offset = (a.flip_p > 0 || a.crop_padding > 0) ? gen_.next_offset() : 0;
  b.inputs = Tensor::empty({a.batch, a.channels, a.height, a.width}, DType::Float32, data_.inputs.device());
  const uint8_t* src = data_.inputs.data<uint8_t>();
  KILN_ON_DEVICE(data_.inputs.device(), gather_images)(a, src, index.data<int64_t>(), b.inputs.data<float>());
  return b;
}

bool DataLoader::next(Batch& out) {
  KILN_CHECK(order_.defined(), "DataLoader: call start_epoch() before next()");
  const int64_t n = order_.size(0);
  const int64_t remaining = n - cursor_;
  if (remaining <= 0 || (drop_last_ && remaining < batch_size_)) return false;
  const int64_t count = std::min(batch_size_, remaining);
  out = gather(order_.narrow(0, cursor_, count));
  cursor_ += count;
  return true;
}

std::vector<Batch> DataLoader::epoch() {
  start_epoch();
  std::vector<Batch> out;
  Batch b;
  while (next(b)) out.push_back(b);
  return out;
}

}  // namespace kiln
