// Contract of the batch-assembly kernel: gathers a batch of uint8 images from a dataset
// that lives on the device and applies the per-sample transforms in the same pass, so a
// batch costs one launch and one write of its float tensor:
//   out[b, c, y, x] = (pixel * scale - mean[c]) * inv_std[c],
//   pixel = src[index[b], c, y + dy_b - pad, fx] (0 outside the image: zero padding),
//   fx = flipped_b ? W - 1 - (x + dx_b - pad) : x + dx_b - pad   (flip after the crop)
// Sample b draws Philox block b of op `offset`: word 0 decides the horizontal flip
// (flip iff word0 >> 8 < ceil(flip_p * 2^24), the dropout comparison), words 1 and 2 the
// crop offsets dy_b, dx_b uniform in [0, 2*pad] (multiply-shift). With flip_p = 0 and
// pad = 0 it is a plain gather + normalise. Indices outside [0, count) are errors (CPU
// throws; CUDA raises the device error flag and writes zeros).
#pragma once

#include <cstdint>

namespace kiln::kernels {

inline constexpr int kMaxTransformChannels = 4;

struct ImageBatchArgs {
  int64_t batch = 0, channels = 0, height = 0, width = 0;
  int64_t source_count = 0;  // images in the dataset
  float scale = 1.0f / 255.0f;
  float mean[kMaxTransformChannels] = {0, 0, 0, 0};
  float inv_std[kMaxTransformChannels] = {1, 1, 1, 1};
  double flip_p = 0.0;
  int64_t crop_padding = 0;
  uint64_t seed = 0, offset = 0;
};

namespace cpu {
void gather_images(const ImageBatchArgs& a, const uint8_t* src, const int64_t* index, float* out);
}
namespace cuda {
void gather_images(const ImageBatchArgs& a, const uint8_t* src, const int64_t* index, float* out);
}

}  // namespace kiln::kernels
