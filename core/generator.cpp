// Generator offsets, eager and captured, and the process-wide default generator (seed 0
// until manual_seed).
#include "core/generator.h"

#include "core/error.h"
#include "core/random_capture.h"

namespace kiln {

PhiloxOffset Generator::reserve(Device device) {
  if (RandomCapture* capture = RandomCapture::active(device)) return capture->reserve(*this);
  return PhiloxOffset{offset_++, nullptr};
}

uint64_t Generator::next_offset() {
  KILN_CHECK(!RandomCapture::any_active(),
             "a host-side random draw (sampler, augmentation or initialisation) cannot be part of a captured "
             "step; draw it before the capture or run the step eagerly");
  return offset_++;
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

}  // namespace kiln
