// libFuzzer target: PNG/JPEG decoding as kiln builds stb_image (PNG and JPEG decoders only,
// bounded dimensions), followed by the resize the ImageFolder loader applies.
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
