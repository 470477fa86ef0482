// JPEG decoding through libjpeg-turbo (Debian's libjpeg62-turbo), for ImageFolder.
//
// Why not stb_image, which decodes kiln's PNGs: the stb_image 2.27 that Debian ships has
// undefined behaviour on corrupt JPEGs that no pre-check can rule out (a shift by 32 or more
// once a marker cuts a progressive scan short; fixed upstream only in stb's later releases),
// and fuzzing found it. libjpeg-turbo is the decoder most software uses and is fuzzed
// continuously upstream.
//
// Decoding is strict where it can be: anything libjpeg reports as corrupt data (even what it
// would only warn about and paper over, such as a truncated scan) is an error naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "data/image_folder.h"

namespace kiln {

// True when the data starts like a JPEG file (the SOI marker, FF D8).
bool has_jpeg_signature(const uint8_t* data, size_t size);

// Decodes a baseline or progressive JPEG (grey, YCbCr or RGB) to interleaved RGB. Sides must be
// 1 to kMaxImageDimension. Throws kiln::Error "<source>: cannot decode image (corrupt JPEG: ...)"
// or naming the limit that was exceeded.
DecodedImage decode_jpeg(const uint8_t* data, size_t size, const std::string& source);

}  // namespace kiln
