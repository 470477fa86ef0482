// ImageFolder: `root/<class>/<image>` trees of PNG and JPEG files, like torchvision's
// ImageFolder: class index = position of the folder name in sorted order, files sorted by
// name within a class. Images are decoded by stb_image (only its PNG and JPEG decoders are
// compiled, with a maximum dimension), converted to RGB and resized to height x width with
// bilinear interpolation (half-pixel centres, as torchvision's Resize without antialias).
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
// corrupt data, too large, unsupported channel count).
DecodedImage decode_image(const uint8_t* data, size_t size, const std::string& source);

// Bilinear resize of interleaved RGB to planar uint8 [3, height, width].
std::vector<uint8_t> resize_to_planar(const DecodedImage& image, int height, int width);

// Loads every image under root/<class>/: inputs uint8 [N, 3, height, width], targets int64
// [N], class_names = sorted folder names. Errors: missing root, no class folders, an empty
// class folder, an unreadable or undecodable image (named by path).
Dataset load_image_folder(const std::string& root, int height, int width);

// Writes uint8 [3, H, W] planar pixels as a PNG (used to build small folders for demos).
void write_png_rgb(const std::string& path, const uint8_t* planar, int height, int width);

}  // namespace kiln
