// CPU batch assembly: gather + crop + flip + normalise (contract: kernels/transforms.h).
#include "kernels/transforms.h"
#include "core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/transform_draws.h"

namespace kiln::kernels::cpu {

void gather_images(const ImageBatchArgs& a, const uint8_t* src, const int64_t* index, float* out) {
  for (int64_t b = 0; b < a.batch; ++b)
    KILN_CHECK(index[b] >= 0 && index[b] < a.source_count, "gather_images: index ", index[b], " at position ",
               b, " is out of range for ", a.source_count, " images");
  const uint32_t thr = flip_threshold(a.flip_p);
  const int64_t plane = a.height * a.width, image = a.channels * plane;
#pragma omp parallel for schedule(static) if (a.batch * image > kParallelGrain)
  for (int64_t b = 0; b < a.batch; ++b) {
    const SampleAugment aug = sample_augment(a.seed, a.offset, b, thr, a.crop_padding);
    const uint8_t* img = src + index[b] * image;
    for (int64_t c = 0; c < a.channels; ++c)
      for (int64_t y = 0; y < a.height; ++y)
        for (int64_t x = 0; x < a.width; ++x) {
          const int64_t sy = y + aug.dy - a.crop_padding;
          int64_t sx = x + aug.dx - a.crop_padding;
          if (aug.flip) sx = a.width - 1 - sx;
          const bool inside = sy >= 0 && sy < a.height && sx >= 0 && sx < a.width;
          const float pixel = inside ? static_cast<float>(img[c * plane + sy * a.width + sx]) : 0.0f;
          out[((b * a.channels + c) * a.height + y) * a.width + x] =
              (pixel * a.scale - a.mean[c]) * a.inv_std[c];
        }
  }
}

}  // namespace kiln::kernels::cpu
