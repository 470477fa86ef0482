// ImageFolder loading (see image_folder.h): directory scanning in a stable order, PNG
// decoding and encoding through stb, JPEG decoding through libjpeg-turbo (jpeg_decoder.h),
// and a bilinear resize whose exact formula is documented in the header so results can be
// reproduced outside kiln.
#include "data/image_folder.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/file_io.h"
#include "data/jpeg_decoder.h"

// stb is compiled here and only here, with internal linkage (STATIC) so it cannot clash with
// another copy in the program, and only its PNG decoder (JPEGs go to libjpeg-turbo, see
// jpeg_decoder.h) to keep the attack surface small. Files are read by kiln and decoded from
// memory, so stb's stdio code is left out. Every stb allocation is zeroed, so no decoder state
// a corrupt file leaves unset is ever read uninitialised. Its asserts check its own
// invariants, and kiln must not abort on a bad file, so they are compiled out in every build
// type, as in release builds.
#include <cstdlib>
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(p, size) std::realloc(p, size)
#define STBI_FREE(p) std::free(p)
#define STBI_ASSERT(x) ((void)0)
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS kiln::kMaxImageDimension
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

namespace kiln {

namespace {

// Largest image file read: generous for dataset images, and refused before it is read.
constexpr uint64_t kMaxImageFileBytes = uint64_t(256) << 20;
// Largest dataset tensor built (N * 3 * height * width bytes), so an over-large request fails
// with a message instead of exhausting memory.
constexpr uint64_t kMaxImageFolderBytes = uint64_t(16) << 30;

struct StbiFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

bool is_image_name(const std::filesystem::path& path) {
  const std::string ext = lower(path.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

void check_size(int height, int width, const char* what) {
  KILN_CHECK(height >= 1 && height <= kMaxImageDimension && width >= 1 && width <= kMaxImageDimension, what,
             ": image size ", height, "x", width, " (height x width) must be 1 to ", kMaxImageDimension,
             " on each side");
}

// The names of the entries of `dir` that pass `keep`, sorted bytewise (std::string order), so
// the order does not depend on the filesystem or the locale.
template <typename Keep>
std::vector<std::string> sorted_entries(const std::filesystem::path& dir, Keep keep) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  KILN_CHECK(!ec, "cannot list '", dir.string(), "': ", ec.message());
  std::vector<std::string> names;
  for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
    KILN_CHECK(!ec, "cannot list '", dir.string(), "': ", ec.message());
    if (keep(*it)) names.push_back(it->path().filename().string());
  }
  KILN_CHECK(!ec, "cannot list '", dir.string(), "': ", ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

bool has_png_signature(const uint8_t* data, size_t size) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return size >= 8 && std::memcmp(data, kSignature, 8) == 0;
}

// Two stb_image flaws in reading IDAT chunks (the compressed image data), both found by
// fuzzing, are kept from stb by checking every chunk before it sees the file:
//  - stb grows its buffer to the length each IDAT chunk DECLARES before reading it, so a
//    60-byte PNG could make it allocate gigabytes. Every chunk must fit in the file; then
//    stb's buffer is bounded by the file size.
//  - an empty IDAT chunk before any image data makes stb copy zero bytes to a null pointer
//    (undefined behaviour). The PNG format allows it, but no encoder writes it, so such a
//    file is refused rather than decoded through undefined behaviour.
std::string check_png_chunks(const uint8_t* data, size_t size) {
  size_t p = 8;  // after the signature
  bool seen_image_data = false;
  while (p + 8 <= size) {
    const uint32_t length = (uint32_t(data[p]) << 24) | (uint32_t(data[p + 1]) << 16) |
                            (uint32_t(data[p + 2]) << 8) | uint32_t(data[p + 3]);
    const bool is_end = std::memcmp(data + p + 4, "IEND", 4) == 0;
    const bool is_image_data = std::memcmp(data + p + 4, "IDAT", 4) == 0;
    // length + type + data + CRC
    if (length > size - p - 8 || size - p - 8 - length < 4)
      return "chunk " + std::string(reinterpret_cast<const char*>(data + p + 4), 4) + " declares " +
             std::to_string(length) + " bytes, more than the file holds";
    if (is_image_data && length == 0 && !seen_image_data) return "an empty IDAT chunk before any image data";
    seen_image_data = seen_image_data || (is_image_data && length > 0);
    p += 12 + static_cast<size_t>(length);
    if (is_end) return "";
  }
  return "";  // truncated after the last complete chunk: stb reports it
}

// One bilinear tap along an axis: the two source indices and the weight of the second.
struct Tap {
  int i0 = 0, i1 = 0;
  double w1 = 0;
};

// Half-pixel centres: output pixel o covers source coordinate (o + 0.5) * in / out - 0.5,
// clamped to [0, in - 1] so edge pixels repeat instead of blending with black.
std::vector<Tap> bilinear_taps(int in, int out) {
  std::vector<Tap> taps(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double src = std::clamp((o + 0.5) * scale - 0.5, 0.0, static_cast<double>(in - 1));
    Tap& t = taps[static_cast<size_t>(o)];
    t.i0 = std::min(static_cast<int>(src), in - 1);
    t.i1 = std::min(t.i0 + 1, in - 1);
    t.w1 = src - t.i0;
  }
  return taps;
}

}  // namespace

DecodedImage decode_image(const uint8_t* data, size_t size, const std::string& source) {
  KILN_CHECK(data != nullptr && size > 0, source, ": empty image file");
  KILN_CHECK(size <= static_cast<size_t>(INT_MAX), source, ": image file of ", size,
             " bytes is too large to decode");
  const int len = static_cast<int>(size);
  if (has_jpeg_signature(data, size)) return decode_jpeg(data, size, source);
  KILN_CHECK(has_png_signature(data, size), source,
             ": cannot decode image (not a PNG or JPEG file: it starts with neither signature)");
  const std::string bad = check_png_chunks(data, size);
  KILN_CHECK(bad.empty(), source, ": cannot decode image (corrupt PNG: ", bad, ")");
  int width = 0, height = 0, channels = 0;
  // desired_channels = 0 keeps the file's channels, so the conversion below is kiln's own.
  // stb checks the dimensions against STBI_MAX_DIMENSIONS before allocating any pixels, and
  // reduces 16-bit PNGs to 8 bits. (stbi_info is not used first: it tries every format in
  // turn and so reports "unknown image type" even for a PNG that is merely too large.)
  const std::unique_ptr<stbi_uc, StbiFree> pixels(
      stbi_load_from_memory(data, len, &width, &height, &channels, 0));
  KILN_CHECK(pixels != nullptr, source, ": cannot decode image (", stbi_failure_reason(), "; PNGs up to ",
             kMaxImageDimension, " pixels a side are supported)");
  KILN_CHECK(width >= 1 && height >= 1 && width <= kMaxImageDimension && height <= kMaxImageDimension, source,
             ": image is ", width, "x", height, ", expected 1 to ", kMaxImageDimension,
             " pixels on each side");
  KILN_CHECK(channels >= 1 && channels <= 4, source, ": image has ", channels,
             " channels, expected 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)");

  // Grey is replicated into R, G and B; alpha is dropped (colours are not composited onto a
  // background, so fully transparent pixels keep whatever colour the file stores).
  DecodedImage image;
  image.width = width;
  image.height = height;
  const size_t count = static_cast<size_t>(width) * static_cast<size_t>(height);
  image.rgb.resize(count * 3);
  const stbi_uc* src = pixels.get();
  for (size_t p = 0; p < count; ++p) {
    const stbi_uc* px = src + p * static_cast<size_t>(channels);
    uint8_t* dst = image.rgb.data() + p * 3;
    if (channels >= 3) {
      dst[0] = px[0];
      dst[1] = px[1];
      dst[2] = px[2];
    } else {
      dst[0] = dst[1] = dst[2] = px[0];
    }
  }
  return image;
}

std::vector<uint8_t> resize_to_planar(const DecodedImage& image, int height, int width) {
  check_size(height, width, "resize_to_planar");
  check_size(image.height, image.width, "resize_to_planar: source");
  const size_t in_w = static_cast<size_t>(image.width);
  KILN_CHECK(image.rgb.size() == in_w * static_cast<size_t>(image.height) * 3,
             "resize_to_planar: source has ", image.rgb.size(), " bytes, expected ", image.height, " x ",
             image.width, " x 3");
  const std::vector<Tap> ys = bilinear_taps(image.height, height);
  const std::vector<Tap> xs = bilinear_taps(image.width, width);
  const size_t plane = static_cast<size_t>(height) * static_cast<size_t>(width);
  std::vector<uint8_t> out(plane * 3);
  const uint8_t* rgb = image.rgb.data();
  for (int y = 0; y < height; ++y) {
    const Tap& ty = ys[static_cast<size_t>(y)];
    const uint8_t* row0 = rgb + static_cast<size_t>(ty.i0) * in_w * 3;
    const uint8_t* row1 = rgb + static_cast<size_t>(ty.i1) * in_w * 3;
    for (int x = 0; x < width; ++x) {
      const Tap& tx = xs[static_cast<size_t>(x)];
      const size_t a = static_cast<size_t>(tx.i0) * 3, b = static_cast<size_t>(tx.i1) * 3;
      for (int c = 0; c < 3; ++c) {
        // Interpolate along x on both rows, then along y, in double; round half away from zero.
        const double top = row0[a + c] + tx.w1 * (row0[b + c] - row0[a + c]);
        const double bottom = row1[a + c] + tx.w1 * (row1[b + c] - row1[a + c]);
        const double v = top + ty.w1 * (bottom - top);
        out[static_cast<size_t>(c) * plane + static_cast<size_t>(y) * width + x] =
            static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
  return out;
}

Dataset load_image_folder(const std::string& root, int height, int width) {
  namespace fs = std::filesystem;
  check_size(height, width, "load_image_folder");
  std::error_code ec;
  const fs::path root_path(root);
  KILN_CHECK(fs::exists(root_path, ec), "image folder '", root, "' does not exist");
  KILN_CHECK(fs::is_directory(root_path, ec), "image folder '", root, "' is not a directory");

  Dataset d;
  d.class_names = sorted_entries(root_path, [](const fs::directory_entry& e) {
    std::error_code e_ec;
    return e.is_directory(e_ec);
  });
  KILN_CHECK(!d.class_names.empty(), "image folder '", root,
             "' has no class folders (expected <root>/<class>/<image>.png or .jpg)");

  // List everything first, so an empty class fails before any decoding work.
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
  for (size_t c = 0; c < d.class_names.size(); ++c) {
    const fs::path class_dir = root_path / d.class_names[c];
    const std::vector<std::string> files = sorted_entries(class_dir, [](const fs::directory_entry& e) {
      std::error_code e_ec;
      return e.is_regular_file(e_ec) && is_image_name(e.path());
    });
    KILN_CHECK(!files.empty(), "class folder '", class_dir.string(), "' has no .png, .jpg or .jpeg images");
    for (const std::string& f : files) {
      paths.push_back((class_dir / f).string());
      labels.push_back(static_cast<int64_t>(c));
    }
  }

  const int64_t n = static_cast<int64_t>(paths.size());
  const uint64_t sample_bytes = uint64_t(3) * uint64_t(height) * uint64_t(width);
  KILN_CHECK(sample_bytes * uint64_t(n) <= kMaxImageFolderBytes, "image folder '", root, "': ", n,
             " images of 3x", height, "x", width, " need ", sample_bytes * uint64_t(n),
             " bytes, more than the limit of ", kMaxImageFolderBytes);
  d.inputs = Tensor::empty({n, 3, height, width}, DType::UInt8);
  uint8_t* out = d.inputs.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const std::string& path = paths[static_cast<size_t>(i)];
    const std::vector<uint8_t> bytes = read_file_bytes(path, kMaxImageFileBytes);
    const std::vector<uint8_t> planar =
        resize_to_planar(decode_image(bytes.data(), bytes.size(), path), height, width);
    std::memcpy(out + static_cast<size_t>(i) * sample_bytes, planar.data(), planar.size());
  }
  d.targets = Tensor::from_vector(labels, {n});
  return d;
}

void write_png_rgb(const std::string& path, const uint8_t* planar, int height, int width) {
  check_size(height, width, path.c_str());
  KILN_CHECK(planar != nullptr, path, ": no pixels to write");
  const size_t plane = static_cast<size_t>(height) * static_cast<size_t>(width);
  std::vector<uint8_t> rgb(plane * 3);
  for (size_t p = 0; p < plane; ++p)
    for (size_t c = 0; c < 3; ++c) rgb[p * 3 + c] = planar[c * plane + p];

  // Encode into memory, then write atomically so a crash never leaves half a PNG behind.
  std::vector<uint8_t> png;
  const auto append = [](void* context, void* data, int size) {
    auto* buffer = static_cast<std::vector<uint8_t>*>(context);
    const auto* bytes = static_cast<const uint8_t*>(data);
    if (size > 0) buffer->insert(buffer->end(), bytes, bytes + size);
  };
  KILN_CHECK(stbi_write_png_to_func(append, &png, width, height, 3, rgb.data(), width * 3) != 0, path,
             ": PNG encoding failed");
  write_file_atomic(path, png.data(), png.size());
}

}  // namespace kiln
