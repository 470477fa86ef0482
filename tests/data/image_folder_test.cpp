// ImageFolder: class and file order, PNG and JPEG decoding with channel conversion, the
// bilinear resize checked against an independent formula, and every folder and decoding
// error naming its path. Test images are written by write_png_rgb and by a private copy of
// stb_image_write (for JPEG, grey and RGBA files).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/file_io.h"
#include "data/image_folder.h"
#include "tests/support/helpers.h"

// A private copy with internal linkage, so it cannot clash with the library's.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

namespace kiln {
namespace {

using testing::error_of;
using testing::mentions;
using testing::write_bytes;

namespace fs = std::filesystem;

void append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

// Interleaved pixels with `comp` channels, encoded as PNG or JPEG (quality 100).
std::vector<uint8_t> encode(const std::vector<uint8_t>& pixels, int height, int width, int comp, bool jpeg) {
  std::vector<uint8_t> out;
  const int ok = jpeg
                     ? stbi_write_jpg_to_func(append, &out, width, height, comp, pixels.data(), 100)
                     : stbi_write_png_to_func(append, &out, width, height, comp, pixels.data(), width * comp);
  EXPECT_NE(ok, 0);
  return out;
}

// Planar [3, h, w] test image number k: every sample and channel distinguishable.
std::vector<uint8_t> planar_image(int k, int h, int w) {
  std::vector<uint8_t> p(static_cast<size_t>(3 * h * w));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        p[(c * h + y) * w + x] = static_cast<uint8_t>((k * 50 + c * 80 + y * 6 + x * 2) % 256);
  return p;
}

DecodedImage decode_file(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  return decode_image(bytes.data(), bytes.size(), path);
}

// Bilinear with half-pixel centres, written independently of the library: the four
// neighbours' weights multiplied out, in double.
double reference_bilinear(const DecodedImage& im, int out_h, int out_w, int c, int y, int x) {
  const auto coord = [](int o, int in, int out) {
    const double s = (o + 0.5) * in / out - 0.5;
    return std::min(std::max(s, 0.0), in - 1.0);
  };
  const double sy = coord(y, im.height, out_h), sx = coord(x, im.width, out_w);
  const int y0 = static_cast<int>(std::floor(sy)), x0 = static_cast<int>(std::floor(sx));
  const int y1 = std::min(y0 + 1, im.height - 1), x1 = std::min(x0 + 1, im.width - 1);
  const double fy = sy - y0, fx = sx - x0;
  const auto p = [&](int yy, int xx) { return static_cast<double>(im.rgb[(yy * im.width + xx) * 3 + c]); };
  return (1 - fy) * (1 - fx) * p(y0, x0) + (1 - fy) * fx * p(y0, x1) + fy * (1 - fx) * p(y1, x0) +
         fy * fx * p(y1, x1);
}

// Every output value must be the reference rounded to nearest (within 0.5; exactly the
// rounded value wherever the reference is not a tie).
void expect_matches_reference(const DecodedImage& im, int out_h, int out_w) {
  const std::vector<uint8_t> out = resize_to_planar(im, out_h, out_w);
  ASSERT_EQ(out.size(), static_cast<size_t>(3 * out_h * out_w));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < out_h; ++y)
      for (int x = 0; x < out_w; ++x) {
        const double ref = reference_bilinear(im, out_h, out_w, c, y, x);
        const int got = out[(c * out_h + y) * out_w + x];
        const std::string where = std::to_string(im.height) + "x" + std::to_string(im.width) + " -> " +
                                  std::to_string(out_h) + "x" + std::to_string(out_w) + " at c" +
                                  std::to_string(c) + " y" + std::to_string(y) + " x" + std::to_string(x);
        EXPECT_LE(std::abs(got - ref), 0.5 + 1e-9) << where << ": got " << got << ", reference " << ref;
        if (std::abs(ref - std::floor(ref) - 0.5) > 1e-6) {
          EXPECT_EQ(got, std::lround(ref)) << where;
        }
      }
}

DecodedImage rgb_image(int h, int w, const std::function<int(int, int, int)>& f) {
  DecodedImage im;
  im.height = h;
  im.width = w;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) im.rgb.push_back(static_cast<uint8_t>(f(c, y, x)));
  return im;
}

TEST(ImageFolder, PngRoundTripIsExact) {
  testing::TempDir dir;
  const auto planar = planar_image(3, 5, 7);
  write_png_rgb(dir.file("x.png"), planar.data(), 5, 7);
  // The write is atomic: only the PNG is left in the folder.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  const DecodedImage im = decode_file(dir.file("x.png"));
  ASSERT_EQ(im.height, 5);
  ASSERT_EQ(im.width, 7);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 7; ++x) ASSERT_EQ(im.rgb[(y * 7 + x) * 3 + c], planar[(c * 5 + y) * 7 + x]);
  // Resizing to the same size is a plain copy to planar.
  EXPECT_EQ(resize_to_planar(im, 5, 7), planar);
}

TEST(ImageFolder, GreyAndAlphaAreConvertedToRgb) {
  const int h = 3, w = 4;
  for (const int comp : {1, 2, 4}) {
    std::vector<uint8_t> px;
    for (int i = 0; i < h * w; ++i)
      for (int ch = 0; ch < comp; ++ch) px.push_back(static_cast<uint8_t>(i * 20 + ch * 7 + 1));
    const auto png = encode(px, h, w, comp, false);
    const DecodedImage im = decode_image(png.data(), png.size(), "mem.png");
    ASSERT_EQ(im.rgb.size(), static_cast<size_t>(h * w * 3)) << comp;
    for (int i = 0; i < h * w; ++i)
      for (int c = 0; c < 3; ++c) {
        // Grey (comp 1 and 2) is replicated; for RGBA, channel c is kept and alpha dropped.
        const int expected = comp == 4 ? i * 20 + c * 7 + 1 : i * 20 + 1;
        ASSERT_EQ(im.rgb[i * 3 + c], expected) << "comp " << comp << " pixel " << i << " channel " << c;
      }
  }
}

TEST(ImageFolder, ClassesFilesAndLabelsInSortedOrder) {
  testing::TempDir dir;
  const std::string root = dir.file("root");
  for (const char* c : {"dog", "cat", "Ant"}) fs::create_directories(root + "/" + c);
  const int h = 4, w = 6;
  // Image k is written under the name that must sort to position k.
  const std::vector<std::pair<std::string, int>> pngs = {
      {"Ant/only.png", 0}, {"cat/a.png", 1}, {"cat/b.PNG", 2}, {"dog/z.png", 4}};
  for (const auto& [name, k] : pngs) write_png_rgb(root + "/" + name, planar_image(k, h, w).data(), h, w);
  // Sample 3: a uniform-colour JPEG, which survives compression almost exactly.
  std::vector<uint8_t> orange;
  for (int i = 0; i < h * w; ++i) orange.insert(orange.end(), {200, 120, 40});
  write_bytes(root + "/dog/y.jpeg", encode(orange, h, w, 3, true));
  // Not images: other extensions, a folder named like an image, a file beside the classes.
  std::ofstream(root + "/cat/notes.txt") << "not an image";
  std::ofstream(root + "/cat/c.png.bak") << "not an image";
  fs::create_directories(root + "/cat/d.png");
  std::ofstream(root + "/README.md") << "about";

  const Dataset d = load_image_folder(root, h, w);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"Ant", "cat", "dog"}));
  EXPECT_EQ(d.targets.dtype(), DType::Int64);
  EXPECT_EQ(d.targets.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 2, 2}));
  ASSERT_EQ(d.inputs.shape(), (Shape{5, 3, h, w}));
  ASSERT_EQ(d.inputs.dtype(), DType::UInt8);
  const std::vector<uint8_t> px = d.inputs.contiguous().to_vector<uint8_t>();
  const size_t per = static_cast<size_t>(3 * h * w);
  for (int k : {0, 1, 2, 4}) {
    const auto expected = planar_image(k, h, w);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), px.begin() + k * per)) << "sample " << k;
  }
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < static_cast<size_t>(h * w); ++i)
      EXPECT_NEAR(px[3 * per + c * h * w + i], orange[c], 2) << "JPEG channel " << c;

  // At another size every sample is the resize of its decoded file.
  const Dataset small = load_image_folder(root, 3, 2);
  ASSERT_EQ(small.inputs.shape(), (Shape{5, 3, 3, 2}));
  const std::vector<uint8_t> spx = small.inputs.contiguous().to_vector<uint8_t>();
  const std::vector<std::string> files = {"Ant/only.png", "cat/a.png", "cat/b.PNG", "dog/y.jpeg",
                                          "dog/z.png"};
  for (size_t k = 0; k < files.size(); ++k) {
    const auto expected = resize_to_planar(decode_file(root + "/" + files[k]), 3, 2);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), spx.begin() + k * expected.size())) << files[k];
  }
}

TEST(ImageFolder, BilinearResizeMatchesTheReferenceFormula) {
  // 2x2 -> 4x4 by hand: edges clamp, inner taps at 0.25 / 0.75.
  const DecodedImage two =
      rgb_image(2, 2, [](int c, int y, int x) { return c * 10 + (y ? (x ? 40 : 200) : (x ? 100 : 0)); });
  const std::vector<uint8_t> up = resize_to_planar(two, 4, 4);
  EXPECT_EQ(up[0], 0);                 // (0, 0): clamped onto the corner
  EXPECT_EQ(up[1], 25);                // (0, 1): 0.75 * 0 + 0.25 * 100
  EXPECT_EQ(up[1 * 4 + 1], 59);        // (1, 1): 58.75
  EXPECT_EQ(up[3 * 4 + 3], 40);        // (3, 3): clamped onto the opposite corner
  EXPECT_EQ(up[16 + 3 * 4 + 0], 210);  // channel 1, (3, 0)
  expect_matches_reference(two, 4, 4);

  // 4x4 -> 2x2: each output is the mean of a 2x2 block; 7.5 rounds up to 8.
  const DecodedImage four = rgb_image(4, 4, [](int c, int y, int x) { return 10 * y + 3 * x + 1 + c; });
  const std::vector<uint8_t> down = resize_to_planar(four, 2, 2);
  EXPECT_EQ(down[0], 8);   // (1 + 4 + 11 + 14) / 4 = 7.5
  EXPECT_EQ(down[3], 34);  // rows 2-3, columns 2-3: (27 + 30 + 37 + 40) / 4 = 33.5
  expect_matches_reference(four, 2, 2);

  // Odd ratios both ways, with values that vary irregularly.
  const auto irregular = [](int c, int y, int x) {
    return (y * 73 + x * 151 + c * 37 + (x * y) % 5 * 29) % 256;
  };
  for (const auto& [ih, iw, oh, ow] : std::vector<std::array<int, 4>>{
           {3, 5, 4, 2}, {5, 7, 3, 9}, {7, 3, 2, 11}, {1, 6, 3, 4}, {9, 9, 1, 1}, {6, 10, 6, 10}})
    expect_matches_reference(rgb_image(ih, iw, irregular), oh, ow);
}

TEST(ImageFolder, FolderErrorsNameThePath) {
  testing::TempDir dir;
  EXPECT_TRUE(mentions(error_of([&] { load_image_folder(dir.file("none"), 8, 8); }),
                       {dir.file("none"), "does not exist"}));
  std::ofstream(dir.file("file")) << "x";
  EXPECT_TRUE(mentions(error_of([&] { load_image_folder(dir.file("file"), 8, 8); }),
                       {dir.file("file"), "is not a directory"}));
  fs::create_directories(dir.file("flat"));
  write_png_rgb(dir.file("flat/a.png"), planar_image(0, 2, 2).data(), 2, 2);
  EXPECT_TRUE(mentions(error_of([&] { load_image_folder(dir.file("flat"), 8, 8); }),
                       {dir.file("flat"), "has no class folders"}));

  fs::create_directories(dir.file("tree/a"));
  fs::create_directories(dir.file("tree/b"));
  write_png_rgb(dir.file("tree/a/1.png"), planar_image(0, 2, 2).data(), 2, 2);
  std::ofstream(dir.file("tree/b/notes.txt")) << "x";
  EXPECT_TRUE(mentions(error_of([&] { load_image_folder(dir.file("tree"), 8, 8); }),
                       {dir.file("tree/b"), "has no .png, .jpg or .jpeg images"}));

  // Not a PNG at all: named by path, with what it is not.
  std::ofstream(dir.file("tree/b/bad.png")) << "this is not a PNG file";
  EXPECT_TRUE(mentions(error_of([&] { load_image_folder(dir.file("tree"), 8, 8); }),
                       {dir.file("tree/b/bad.png"), "cannot decode image", "not a PNG or JPEG file"}));
  // A real PNG cut short: the header reads, the pixels do not.
  const auto png = encode(std::vector<uint8_t>(16 * 16 * 3, 77), 16, 16, 3, false);
  write_bytes(dir.file("tree/b/bad.png"), std::vector<uint8_t>(png.begin(), png.begin() + png.size() / 2));
  EXPECT_TRUE(mentions(error_of([&] { load_image_folder(dir.file("tree"), 8, 8); }),
                       {dir.file("tree/b/bad.png"), "cannot decode image"}));
  write_bytes(dir.file("tree/b/bad.png"), {});
  EXPECT_TRUE(mentions(error_of([&] { load_image_folder(dir.file("tree"), 8, 8); }),
                       {dir.file("tree/b/bad.png"), "empty image file"}));
  EXPECT_TRUE(mentions(error_of([&] { load_image_folder(dir.file("tree"), 0, 8); }), {"image size 0x8"}));
}

TEST(ImageFolder, CorruptJpegsAreRefusedWithTheirReason) {
  // A JPEG whose first Huffman table claims 16 * 32 = 512 codes (at most 256 are valid).
  auto jpeg = encode(std::vector<uint8_t>(8 * 8 * 3, 99), 8, 8, 3, true);
  size_t dht = 0;
  while (dht + 1 < jpeg.size() && !(jpeg[dht] == 0xFF && jpeg[dht + 1] == 0xC4)) ++dht;
  ASSERT_LT(dht + 21, jpeg.size()) << "no DHT segment in the encoded JPEG";
  auto bad_table = jpeg;
  for (size_t i = 0; i < 16; ++i) bad_table[dht + 5 + i] = 32;  // marker, length (2), class/id, counts
  EXPECT_TRUE(mentions(error_of([&] { decode_image(bad_table.data(), bad_table.size(), "dht.jpg"); }),
                       {"dht.jpg", "corrupt JPEG", "Huffman"}));
  // Cut inside the scan: libjpeg would fill the rest with grey and only warn; kiln refuses it.
  const std::vector<uint8_t> truncated(jpeg.begin(), jpeg.begin() + static_cast<long>(jpeg.size()) - 6);
  EXPECT_TRUE(mentions(error_of([&] { decode_image(truncated.data(), truncated.size(), "cut.jpg"); }),
                       {"cut.jpg", "cannot decode image", "corrupt JPEG"}));
  std::vector<uint8_t> packed = {0xFF, 0xD8};
  for (int i = 0; i < 5000; ++i) packed.insert(packed.end(), {0xFF, 0xC4});
  EXPECT_TRUE(mentions(error_of([&] { decode_image(packed.data(), packed.size(), "packed.jpg"); }),
                       {"packed.jpg", "cannot decode image", "corrupt JPEG"}));
  // Hundreds of scan headers would each cost a pass over the image.
  std::vector<uint8_t> scans = {0xFF, 0xD8};
  for (int i = 0; i < 300; ++i) scans.insert(scans.end(), {0xFF, 0xDA});
  EXPECT_TRUE(mentions(error_of([&] { decode_image(scans.data(), scans.size(), "scans.jpg"); }),
                       {"scans.jpg", "300 scans", "more than 256"}));
  const std::vector<uint8_t> neither = {'G', 'I', 'F', '8', '9', 'a', 0, 0};
  EXPECT_TRUE(mentions(error_of([&] { decode_image(neither.data(), neither.size(), "x.gif"); }),
                       {"x.gif", "not a PNG or JPEG file"}));
}

TEST(ImageFolder, ProgressiveScanCutByAMarkerIsAClearError) {
  // Found by fuzzing: a progressive JPEG whose scan data a marker cuts short made stb_image
  // 2.27 shift by 32 or more (undefined behaviour). It must come back as an error, and under
  // the sanitizers without any report.
  const auto bytes =
      read_file_bytes(testing::source_dir() + "/fuzz/corpus/image/regression-jpeg-scan-cut-by-marker.jpg");
  EXPECT_TRUE(mentions(error_of([&] { decode_image(bytes.data(), bytes.size(), "cut.jpg"); }),
                       {"cut.jpg", "cannot decode image"}));
}

TEST(ImageFolder, SizeLimitsAndBadArguments) {
  // One pixel wider than the maximum: refused from the header.
  const auto wide =
      encode(std::vector<uint8_t>(kMaxImageDimension + 1, 9), 1, kMaxImageDimension + 1, 1, false);
  const std::string e = error_of([&] { decode_image(wide.data(), wide.size(), "wide.png"); });
  EXPECT_TRUE(mentions(e, {"wide.png", "cannot decode image", "too large"}));
  const auto edge = encode(std::vector<uint8_t>(kMaxImageDimension, 9), 1, kMaxImageDimension, 1, false);
  EXPECT_EQ(decode_image(edge.data(), edge.size(), "edge.png").width, kMaxImageDimension);

  EXPECT_TRUE(
      mentions(error_of([&] { decode_image(nullptr, 0, "none.png"); }), {"none.png", "empty image file"}));
  const DecodedImage im = rgb_image(2, 2, [](int, int, int) { return 1; });
  EXPECT_TRUE(mentions(error_of([&] { resize_to_planar(im, 0, 4); }), {"resize_to_planar", "0x4"}));
  EXPECT_TRUE(
      mentions(error_of([&] { resize_to_planar(im, 4, kMaxImageDimension + 1); }), {"resize_to_planar"}));
  DecodedImage short_rgb = im;
  short_rgb.rgb.pop_back();
  EXPECT_TRUE(mentions(error_of([&] { resize_to_planar(short_rgb, 4, 4); }), {"source has 11 bytes"}));
  testing::TempDir dir;
  const uint8_t px[3] = {1, 2, 3};
  EXPECT_TRUE(
      mentions(error_of([&] { write_png_rgb(dir.file("x.png"), px, 1, 0); }), {dir.file("x.png"), "1x0"}));
  EXPECT_TRUE(mentions(error_of([&] { write_png_rgb(dir.file("no/such/dir/x.png"), px, 1, 1); }),
                       {dir.file("no/such/dir/x.png")}));
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

TEST(ImageFolder, PngChunkLongerThanTheFileIsRefusedBeforeDecoding) {
  // A chunk length field larger than the file made stb_image allocate gigabytes (found by
  // fuzzing); it must be a clear error instead.
  testing::TempDir dir;
  const std::vector<uint8_t> planar(3 * 4 * 5, 100);
  write_png_rgb(dir.file("ok.png"), planar.data(), 4, 5);
  std::vector<uint8_t> bytes = read_file_bytes(dir.file("ok.png"));
  EXPECT_NO_THROW(decode_image(bytes.data(), bytes.size(), "ok.png"));
  // The first chunk after the 8-byte signature is IHDR (length 13); the next is at 8 + 25.
  const size_t next = 8 + 12 + 13;
  ASSERT_GT(bytes.size(), next + 8);
  bytes[next] = 0x7f;
  bytes[next + 1] = bytes[next + 2] = bytes[next + 3] = 0xff;
  try {
    decode_image(bytes.data(), bytes.size(), "huge.png");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("huge.png: cannot decode image (corrupt PNG: chunk"),
              std::string::npos)
        << e.what();
  }
}

TEST(ImageFolder, EmptyImageDataChunkBeforeAnyDataIsRefused) {
  // An empty IDAT chunk first made stb_image call memcpy on a null pointer (found by fuzzing
  // under UBSan). Refused with a clear error; an empty IDAT after the data still decodes.
  testing::TempDir dir;
  const auto planar = planar_image(3, 4, 5);
  write_png_rgb(dir.file("ok.png"), planar.data(), 4, 5);
  const std::vector<uint8_t> bytes = read_file_bytes(dir.file("ok.png"));
  // length 0, type IDAT, CRC-32 of "IDAT"
  const std::vector<uint8_t> empty_idat = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xAF, 0x06, 0x1E};
  const size_t after_ihdr = 8 + 12 + 13;
  ASSERT_EQ(std::string(bytes.begin() + after_ihdr + 4, bytes.begin() + after_ihdr + 8), "IDAT");

  std::vector<uint8_t> first = bytes;
  first.insert(first.begin() + static_cast<std::ptrdiff_t>(after_ihdr), empty_idat.begin(), empty_idat.end());
  EXPECT_TRUE(
      mentions(error_of([&] { decode_image(first.data(), first.size(), "empty.png"); }),
               {"empty.png: cannot decode image (corrupt PNG: an empty IDAT chunk before any image data)"}));

  std::vector<uint8_t> later = bytes;
  const size_t iend = later.size() - 12;
  ASSERT_EQ(std::string(later.begin() + iend + 4, later.begin() + iend + 8), "IEND");
  later.insert(later.begin() + static_cast<std::ptrdiff_t>(iend), empty_idat.begin(), empty_idat.end());
  const DecodedImage img = decode_image(later.data(), later.size(), "later.png");
  ASSERT_EQ(img.height, 4);
  ASSERT_EQ(img.width, 5);
  EXPECT_EQ(resize_to_planar(img, 4, 5), planar);
}

}  // namespace
}  // namespace kiln
