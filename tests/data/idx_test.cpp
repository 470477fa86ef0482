// IDX (MNIST / Fashion-MNIST) reading: synthetic raw and gzip files whose pixels identify
// their sample, every header and size error naming the file, gzip corruption, truncation and
// the decompression cap, and the real Fashion-MNIST test split when it is installed.
#include <gtest/gtest.h>

#include <zlib.h>

#include <filesystem>
#include <functional>

#include "core/file_io.h"
#include "data/idx.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::mentions;
using testing::write_bytes;

const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& payload,
                               uint8_t type = 0x08) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& data) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&s, data.size()) + 64);
  s.next_in = const_cast<Bytef*>(data.data());
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

uint8_t pixel(int64_t i, int64_t y, int64_t x) {
  return static_cast<uint8_t>((i * 37 + y * 5 + x * 3 + 1) % 256);
}
uint8_t label(int64_t i) { return static_cast<uint8_t>((i * 7 + 3) % 10); }

// n images of h x w (pixel(i, y, x)) and their labels, as IDX bytes.
std::vector<uint8_t> images_idx(int64_t n, int64_t h, int64_t w) {
  std::vector<uint8_t> px;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) px.push_back(pixel(i, y, x));
  return idx_bytes({uint32_t(n), uint32_t(h), uint32_t(w)}, px);
}
std::vector<uint8_t> labels_idx(int64_t n) {
  std::vector<uint8_t> l;
  for (int64_t i = 0; i < n; ++i) l.push_back(label(i));
  return idx_bytes({uint32_t(n)}, l);
}

void expect_samples(const Dataset& d, int64_t n, int64_t h, int64_t w) {
  ASSERT_EQ(d.inputs.shape(), (Shape{n, 1, h, w}));
  ASSERT_EQ(d.inputs.dtype(), DType::UInt8);
  ASSERT_EQ(d.targets.shape(), (Shape{n}));
  ASSERT_EQ(d.targets.dtype(), DType::Int64);
  const std::vector<uint8_t> px = d.inputs.contiguous().to_vector<uint8_t>();
  const std::vector<int64_t> t = d.targets.to_vector<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(t[i], label(i)) << "sample " << i;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        ASSERT_EQ(px[(i * h + y) * w + x], pixel(i, y, x)) << i << "," << y << "," << x;
  }
}

TEST(Idx, ParsesEveryDimensionCount) {
  const Tensor one = parse_idx(idx_bytes({3}, {7, 8, 9}).data(), 11, "one");
  EXPECT_EQ(one.shape(), (Shape{3}));
  EXPECT_EQ(one.to_vector<uint8_t>(), (std::vector<uint8_t>{7, 8, 9}));
  std::vector<uint8_t> payload(2 * 3 * 1 * 2);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(200 + i);
  const auto four = idx_bytes({2, 3, 1, 2}, payload);
  const Tensor t = parse_idx(four.data(), four.size(), "four");
  EXPECT_EQ(t.shape(), (Shape{2, 3, 1, 2}));
  EXPECT_EQ(t.dtype(), DType::UInt8);
  EXPECT_EQ(t.to_vector<uint8_t>(), payload);
  // A zero dimension with no payload is consistent (and empty).
  const auto empty = idx_bytes({0, 28, 28}, {});
  EXPECT_EQ(parse_idx(empty.data(), empty.size(), "empty").shape(), (Shape{0, 28, 28}));
}

TEST(Idx, LoadsRawAndGzipPairsWithExactValues) {
  testing::TempDir dir;
  write_bytes(dir.file("images"), images_idx(6, 3, 4));
  write_bytes(dir.file("labels.gz"), gzip(labels_idx(6)));
  const Dataset d = load_idx_dataset(dir.file("images"), dir.file("labels.gz"));
  expect_samples(d, 6, 3, 4);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));

  // Gzip is recognised by its magic bytes too, without the .gz suffix.
  write_bytes(dir.file("images-gz-content"), gzip(images_idx(6, 3, 4)));
  expect_samples(load_idx_dataset(dir.file("images-gz-content"), dir.file("labels.gz")), 6, 3, 4);

  // Concatenated gzip members (`cat a.gz b.gz`) decompress to the concatenation.
  const auto whole = images_idx(6, 3, 4);
  auto split = gzip(std::vector<uint8_t>(whole.begin(), whole.begin() + 30));
  const auto tail = gzip(std::vector<uint8_t>(whole.begin() + 30, whole.end()));
  split.insert(split.end(), tail.begin(), tail.end());
  write_bytes(dir.file("two-members.gz"), split);
  EXPECT_EQ(read_idx(dir.file("two-members.gz")).to_vector<uint8_t>(),
            std::vector<uint8_t>(whole.begin() + 16, whole.end()));
}

TEST(Idx, FindsTheStandardFileNames) {
  testing::TempDir dir;
  write_bytes(dir.file("train-images-idx3-ubyte.gz"), gzip(images_idx(5, 2, 3)));
  write_bytes(dir.file("train-labels-idx1-ubyte"), labels_idx(5));
  write_bytes(dir.file("t10k-images-idx3-ubyte"), images_idx(3, 2, 3));
  write_bytes(dir.file("t10k-labels-idx1-ubyte.gz"), gzip(labels_idx(3)));
  expect_samples(load_mnist(dir.path(), true), 5, 2, 3);
  expect_samples(load_mnist(dir.path(), false), 3, 2, 3);
  const Dataset f = load_fashion_mnist(dir.path(), false);
  expect_samples(f, 3, 2, 3);
  EXPECT_EQ(f.class_names, (std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}));
  // The raw file wins when both exist: a broken .gz beside a good raw file is not read.
  write_bytes(dir.file("t10k-images-idx3-ubyte.gz"), {1, 2, 3});
  expect_samples(load_mnist(dir.path(), false), 3, 2, 3);
}

TEST(Idx, MissingFilesAreListed) {
  testing::TempDir dir;
  const std::string none = error_of([&] { load_mnist(dir.path(), true); });
  EXPECT_TRUE(mentions(none, {"training split not found", dir.file("train-images-idx3-ubyte[.gz]"),
                              dir.file("train-labels-idx1-ubyte[.gz]")}));
  write_bytes(dir.file("t10k-images-idx3-ubyte"), images_idx(3, 2, 3));
  const std::string labels = error_of([&] { load_fashion_mnist(dir.path(), false); });
  EXPECT_TRUE(mentions(labels, {"test split not found (missing t10k-labels-idx1-ubyte)",
                                dir.file("t10k-labels-idx1-ubyte[.gz]")}));
  EXPECT_TRUE(mentions(error_of([&] { read_idx(dir.file("nope")); }), {dir.file("nope")}));
}

TEST(Idx, HeaderErrorsNameTheFile) {
  testing::TempDir dir;
  const auto err = [&](const std::vector<uint8_t>& bytes) {
    write_bytes(dir.file("bad.idx"), bytes);
    return error_of([&] { read_idx(dir.file("bad.idx")); });
  };
  const std::string f = dir.file("bad.idx");
  EXPECT_TRUE(mentions(err({}), {f, "truncated IDX header", "0 bytes"}));
  EXPECT_TRUE(mentions(err({0, 0, 8}), {f, "truncated IDX header", "3 bytes"}));
  EXPECT_TRUE(mentions(err({0, 0, 8, 3, 0, 0, 0, 1, 0, 0}),
                       {f, "truncated IDX header", "16 header bytes", "has 10"}));
  EXPECT_TRUE(mentions(err({0x89, 'P', 'N', 'G', 0, 0, 0, 1, 0}), {f, "not an IDX file", "0x89 0x50"}));
  EXPECT_TRUE(mentions(err(idx_bytes({1}, {0, 0, 0, 0}, 0x0D)), {f, "unsupported IDX element type 0x0d"}));
  EXPECT_TRUE(mentions(err(idx_bytes({1}, {0}, 0x0C)), {f, "unsupported IDX element type 0x0c"}));
  EXPECT_TRUE(mentions(err(idx_bytes({}, {})), {f, "declares 0 dimensions, expected 1 to 4"}));
  EXPECT_TRUE(mentions(err(idx_bytes({1, 1, 1, 1, 1}, {0})), {f, "declares 5 dimensions"}));
  // More than kIdxMaxBytes is refused from the header alone.
  EXPECT_TRUE(
      mentions(err(idx_bytes({65536, 65536}, {})), {f, "[65536, 65536]", "hold more than 1073741824"}));
  EXPECT_TRUE(
      mentions(err(idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 2}, {})), {f, "hold more than"}));
  // Exactly at the cap is allowed by the header check (the payload is then missing).
  EXPECT_TRUE(
      mentions(err(idx_bytes({1024, 1024, 1024}, {})), {f, "truncated IDX data", "need 1073741824 bytes"}));
}

TEST(Idx, PayloadMustMatchTheDimensionsExactly) {
  testing::TempDir dir;
  const std::string f = dir.file("t.idx");
  auto bytes = images_idx(4, 2, 2);  // 16-byte header + 16 pixels
  bytes.pop_back();
  write_bytes(f, bytes);
  EXPECT_TRUE(mentions(
      error_of([&] { read_idx(f); }),
      {f, "truncated IDX data", "[4, 2, 2] need 16 bytes after the 16-byte header, the file has 15"}));
  bytes.push_back(0);
  bytes.push_back(0);
  bytes.push_back(0);
  write_bytes(f, bytes);
  EXPECT_TRUE(
      mentions(error_of([&] { read_idx(f); }), {f, "2 trailing bytes after the 16 bytes of IDX data"}));
  // A zero dimension with a payload is a mismatch, not an empty file.
  write_bytes(f, idx_bytes({0, 28, 28}, {5}));
  EXPECT_TRUE(mentions(error_of([&] { read_idx(f); }), {f, "1 trailing bytes"}));
  // The same checks apply after decompression, naming the .gz file.
  write_bytes(f + ".gz", gzip(bytes));
  EXPECT_TRUE(mentions(error_of([&] { read_idx(f + ".gz"); }), {f + ".gz", "2 trailing bytes"}));
}

TEST(Idx, CorruptAndTruncatedGzipNameTheFile) {
  testing::TempDir dir;
  const std::string f = dir.file("images.gz");
  const auto good = gzip(images_idx(50, 8, 8));
  ASSERT_GT(good.size(), 40u);

  auto corrupt = good;
  for (size_t i = 12; i < 24; ++i) corrupt[i] ^= 0x5A;  // inside the deflate data
  write_bytes(f, corrupt);
  EXPECT_TRUE(mentions(error_of([&] { read_idx(f); }), {f, "corrupt gzip data"}));

  auto bad_crc = good;
  bad_crc[bad_crc.size() - 6] ^= 0xFF;  // the CRC-32 in the trailer
  write_bytes(f, bad_crc);
  EXPECT_TRUE(mentions(error_of([&] { read_idx(f); }), {f, "corrupt gzip data", "incorrect data check"}));

  // A raw IDX file misnamed .gz is not gzip.
  write_bytes(f, images_idx(2, 2, 2));
  EXPECT_TRUE(mentions(error_of([&] { read_idx(f); }), {f, "corrupt gzip data"}));

  for (const size_t keep : {good.size() - 1, good.size() - 8, good.size() / 2, size_t(2)}) {
    write_bytes(f, std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep)));
    EXPECT_TRUE(mentions(error_of([&] { read_idx(f); }), {f, "truncated gzip data"})) << "kept " << keep;
  }

  auto garbage = good;
  garbage.push_back('x');
  garbage.push_back('y');
  write_bytes(f, garbage);
  EXPECT_TRUE(
      mentions(error_of([&] { read_idx(f); }), {f, "2 unexpected bytes after the end of the gzip stream"}));
}

TEST(Idx, GunzipStopsAtTheCap) {
  const std::vector<uint8_t> zeros(1 << 20);  // 1 MiB that deflates to a few KiB
  const auto bomb = gzip(zeros);
  ASSERT_LT(bomb.size(), 8192u);
  EXPECT_EQ(gunzip(bomb.data(), bomb.size(), zeros.size(), "bomb.gz"), zeros);
  EXPECT_TRUE(mentions(error_of([&] { gunzip(bomb.data(), bomb.size(), zeros.size() - 1, "bomb.gz"); }),
                       {"bomb.gz", "decompresses to more than 1048575 bytes"}));
  EXPECT_TRUE(mentions(error_of([&] { gunzip(bomb.data(), bomb.size(), 1000, "bomb.gz"); }),
                       {"bomb.gz", "more than 1000 bytes"}));
  // A lying size field in the trailer is only a hint.
  auto lying = bomb;
  lying[lying.size() - 1] = 0xFF;
  EXPECT_TRUE(mentions(error_of([&] { gunzip(lying.data(), lying.size(), 1 << 21, "lying.gz"); }),
                       {"lying.gz", "corrupt gzip data"}));
  const auto empty = gzip({});
  EXPECT_TRUE(gunzip(empty.data(), empty.size(), 0, "empty.gz").empty());
  EXPECT_TRUE(
      mentions(error_of([&] { gunzip(nullptr, 0, 10, "none.gz"); }), {"none.gz", "truncated gzip data"}));
}

TEST(Idx, DatasetChecksLabelsRanksAndCounts) {
  testing::TempDir dir;
  write_bytes(dir.file("images"), images_idx(4, 2, 2));
  write_bytes(dir.file("labels"), idx_bytes({4}, {1, 2, 10, 3}));
  EXPECT_TRUE(mentions(error_of([&] { load_idx_dataset(dir.file("images"), dir.file("labels")); }),
                       {dir.file("labels"), "label 10 at index 2", "number of classes (10)"}));
  // With fewer class names the bound is tighter.
  write_bytes(dir.file("labels"), idx_bytes({4}, {0, 1, 2, 1}));
  EXPECT_TRUE(mentions(error_of([&] {
                         load_idx_dataset(dir.file("images"), dir.file("labels"), {"a", "b"});
                       }),
                       {"label 2 at index 2", "number of classes (2)"}));
  const Dataset ok = load_idx_dataset(dir.file("images"), dir.file("labels"), {"a", "b", "c"});
  EXPECT_EQ(ok.targets.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 1}));
  EXPECT_EQ(ok.num_classes(), 3);

  write_bytes(dir.file("labels"), idx_bytes({3}, {0, 1, 2}));
  EXPECT_TRUE(mentions(error_of([&] { load_idx_dataset(dir.file("images"), dir.file("labels")); }),
                       {dir.file("labels"), "3 labels", "holds 4 images"}));
  EXPECT_TRUE(mentions(error_of([&] { load_idx_dataset(dir.file("labels"), dir.file("labels")); }),
                       {dir.file("labels"), "expected IDX images [N, H, W]", "[3]"}));
  EXPECT_TRUE(mentions(error_of([&] { load_idx_dataset(dir.file("images"), dir.file("images")); }),
                       {dir.file("images"), "expected IDX labels [N]"}));
  write_bytes(dir.file("no-images"), idx_bytes({0, 28, 28}, {}));
  EXPECT_TRUE(mentions(error_of([&] { load_idx_dataset(dir.file("no-images"), dir.file("labels")); }),
                       {dir.file("no-images"), "no image data"}));
}

TEST(Idx, RealFashionMnistTestSplit) {
  if (!std::filesystem::exists(std::string(kFashionDir) + "/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed at " << kFashionDir
                 << " (Debian package dataset-fashion-mnist)";
  const Dataset d = load_fashion_mnist(kFashionDir, false);
  EXPECT_EQ(d.inputs.shape(), (Shape{10000, 1, 28, 28}));
  EXPECT_EQ(d.inputs.dtype(), DType::UInt8);
  EXPECT_EQ(d.targets.shape(), (Shape{10000}));
  EXPECT_EQ(d.num_classes(), 10);
  EXPECT_EQ(d.class_names[9], "Ankle boot");
  std::vector<int64_t> counts(10, 0);
  for (int64_t t : d.targets.to_vector<int64_t>()) {
    ASSERT_GE(t, 0);
    ASSERT_LT(t, 10);
    ++counts[t];
  }
  EXPECT_EQ(counts, std::vector<int64_t>(10, 1000));
  // The first test image is an ankle boot (label 9), as in every copy of the data set.
  EXPECT_EQ(d.targets.to_vector<int64_t>()[0], 9);
}

}  // namespace
}  // namespace kiln
