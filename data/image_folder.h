// ImageFolder: `root/<class>/<image>` trees of PNG and JPEG files, like torchvision's
// ImageFolder: class index = position of the folder name in sorted order, files sorted by
// name within a class. Images are decoded by stb_image (only its PNG and JPEG decoders are
// compiled, with a maximum dimension), converted to RGB and resized to height x width with
// bilinear interpolation (half-pixel centres, as torchvision's Resize without antialias).
//
// The resize, exactly: for an output coordinate o along an axis of input length `in` and
// output length `out`, the source coordinate is s = (o + 0.5) * in / out - 0.5, clamped to
// [0, in - 1]; with i0 = floor(s), i1 = min(i0 + 1, in - 1) and f = s - i0 the value is
// (1 - f) * p[i0] + f * p[i1], applied along x on rows i0 and i1 and then along y, computed in
// double and rounded to the nearest integer (halves away from zero). No antialiasing: when
// shrinking by more than 2x, pixels between the taps are skipped. This is the sampling of
// torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=False).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace kiln {

// Largest width or height accepted from an image file.
inline constexpr int kMaxImageDimension = 16384;

struct DecodedImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3, row-major, interleaved RGB
};

// Decodes PNG or JPEG bytes to RGB; `source` names the file in errors (unknown format,
// corrupt data, too large, unsupported channel count). Grey is replicated to R, G and B;
// alpha is dropped without compositing; 16-bit PNGs are reduced to 8 bits.
DecodedImage decode_image(const uint8_t* data, size_t size, const std::string& source);

// Bilinear resize (formula above) of interleaved RGB to planar uint8 [3, height, width],
// returned as 3 * height * width bytes. Sizes must be 1 to kMaxImageDimension.
std::vector<uint8_t> resize_to_planar(const DecodedImage& image, int height, int width);

// Loads every image under root/<class>/: inputs uint8 [N, 3, height, width], targets int64
// [N], class_names = sorted folder names (bytewise std::string order). Classes are the
// immediate subdirectories of root; within a class only regular files ending in .png, .jpg or
// .jpeg (any case) are images, other files are ignored. Errors: missing root, root not a
// directory, no class folders, a class folder with no images, an unreadable or undecodable
// image (named by path, with the decoder's reason), a file over 256 MiB, or a dataset over
// 16 GiB.
Dataset load_image_folder(const std::string& root, int height, int width);

// Writes uint8 [3, H, W] planar pixels as an 8-bit RGB PNG (used to build small folders for
// demos and tests). The file is replaced atomically (core/file_io.h).
void write_png_rgb(const std::string& path, const uint8_t* planar, int height, int width);

}  // namespace kiln
