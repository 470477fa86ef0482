// libFuzzer target: image decoding as ImageFolder does it (PNG through kiln's build of
// stb_image, JPEG through libjpeg-turbo, bounded dimensions), followed by the resize the
// loader applies.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "data/image_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const kiln::DecodedImage img = kiln::decode_image(data, size, "fuzz.img");
    // Keep the work bounded: resizing a huge (but valid) image is not what is being tested.
    if (static_cast<int64_t>(img.width) * img.height <= 1 << 20) (void)kiln::resize_to_planar(img, 16, 16);
  } catch (const kiln::Error&) {
  }
  return 0;
}
