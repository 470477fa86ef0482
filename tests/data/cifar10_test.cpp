// CIFAR-10 binary batches: synthetic records whose every pixel identifies its sample, the
// planar layout, the training split assembled from five batches in order, and the size,
// label and missing-file errors (each naming the file, and the record or byte count).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "core/file_io.h"
#include "data/cifar10.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::mentions;
using testing::write_bytes;

const std::vector<std::string> kClasses = {"airplane", "automobile", "bird",  "cat",  "deer",
                                           "dog",      "frog",       "horse", "ship", "truck"};

uint8_t pixel(int64_t i, int64_t c, int64_t y, int64_t x) {
  return static_cast<uint8_t>((i * 31 + c * 101 + y * 7 + x * 3) % 256);
}
int64_t label(int64_t i) { return (i * 3 + 1) % 10; }

// Records first..first+n-1 in the file layout: label, then R, G, B planes of 32x32.
std::vector<uint8_t> records(int64_t first, int64_t n) {
  std::vector<uint8_t> out;
  for (int64_t i = first; i < first + n; ++i) {
    out.push_back(static_cast<uint8_t>(label(i)));
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 32; ++y)
        for (int64_t x = 0; x < 32; ++x) out.push_back(pixel(i, c, y, x));
  }
  return out;
}

// Samples 0..n-1 must be records 0..n-1, pixel for pixel.
void expect_samples(const Dataset& d, int64_t n) {
  ASSERT_EQ(d.inputs.shape(), (Shape{n, 3, 32, 32}));
  ASSERT_EQ(d.inputs.dtype(), DType::UInt8);
  ASSERT_EQ(d.targets.shape(), (Shape{n}));
  ASSERT_EQ(d.targets.dtype(), DType::Int64);
  EXPECT_EQ(d.class_names, kClasses);
  const std::vector<uint8_t> px = d.inputs.contiguous().to_vector<uint8_t>();
  const std::vector<int64_t> t = d.targets.to_vector<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(t[i], label(i)) << "sample " << i;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 32; ++y)
        for (int64_t x = 0; x < 32; ++x)
          ASSERT_EQ(px[((i * 3 + c) * 32 + y) * 32 + x], pixel(i, c, y, x))
              << i << "," << c << "," << y << "," << x;
  }
}

TEST(Cifar10, DecodesRecordsToPlanarImages) {
  const auto bytes = records(0, 4);
  expect_samples(parse_cifar10_batch(bytes.data(), bytes.size(), "mem"), 4);
  testing::TempDir dir;
  write_bytes(dir.file("b.bin"), bytes);
  expect_samples(read_cifar10_batch(dir.file("b.bin")), 4);
}

TEST(Cifar10, LoadsTrainingBatchesInOrderAndTheTestBatch) {
  testing::TempDir dir;
  const int64_t sizes[5] = {2, 3, 1, 2, 4};
  int64_t first = 0;
  for (int b = 0; b < 5; ++b) {
    write_bytes(dir.file("data_batch_" + std::to_string(b + 1) + ".bin"), records(first, sizes[b]));
    first += sizes[b];
  }
  write_bytes(dir.file("test_batch.bin"), records(0, 3));
  expect_samples(load_cifar10(dir.path(), true), first);
  expect_samples(load_cifar10(dir.path(), false), 3);
}

TEST(Cifar10, BadSizesAndLabelsNameTheFile) {
  testing::TempDir dir;
  const std::string f = dir.file("data_batch_1.bin");
  auto bytes = records(0, 2);
  bytes.resize(bytes.size() + 5);
  write_bytes(f, bytes);
  EXPECT_TRUE(mentions(error_of([&] { read_cifar10_batch(f); }),
                       {f, "6151 bytes is not a non-zero multiple of the 3073-byte CIFAR-10 record"}));
  write_bytes(f, std::vector<uint8_t>(3072));
  EXPECT_TRUE(mentions(error_of([&] { read_cifar10_batch(f); }), {f, "3072 bytes"}));
  write_bytes(f, {});
  EXPECT_TRUE(mentions(error_of([&] { read_cifar10_batch(f); }), {f, "0 bytes is not a non-zero multiple"}));

  bytes = records(0, 3);
  bytes[2 * kCifarRecordBytes] = 10;
  write_bytes(f, bytes);
  EXPECT_TRUE(mentions(error_of([&] { read_cifar10_batch(f); }),
                       {f, "record 2 (byte offset 6146) has label 10, expected 0 to 9"}));
  bytes[2 * kCifarRecordBytes] = 255;
  EXPECT_TRUE(mentions(error_of([&] { parse_cifar10_batch(bytes.data(), bytes.size(), "mem.bin"); }),
                       {"mem.bin", "record 2", "label 255"}));
  EXPECT_TRUE(mentions(error_of([&] { read_cifar10_batch(dir.file("none.bin")); }), {dir.file("none.bin")}));
}

TEST(Cifar10, MissingOrBadBatchInTheSplitIsNamed) {
  testing::TempDir dir;
  for (int b = 1; b <= 5; ++b)
    if (b != 4) write_bytes(dir.file("data_batch_" + std::to_string(b) + ".bin"), records(0, 1));
  EXPECT_TRUE(mentions(error_of([&] { load_cifar10(dir.path(), true); }),
                       {"CIFAR-10 training batch not found", dir.file("data_batch_4.bin")}));
  EXPECT_TRUE(mentions(error_of([&] { load_cifar10(dir.path(), false); }),
                       {"CIFAR-10 test batch not found", dir.file("test_batch.bin")}));
  // A bad record in a later batch is reported with that batch's name.
  auto bad = records(0, 2);
  bad[kCifarRecordBytes] = 12;
  write_bytes(dir.file("data_batch_4.bin"), bad);
  EXPECT_TRUE(mentions(error_of([&] { load_cifar10(dir.path(), true); }),
                       {dir.file("data_batch_4.bin"), "record 1", "label 12"}));
  EXPECT_TRUE(mentions(error_of([&] { load_cifar10(dir.file("missing"), false); }),
                       {dir.file("missing") + "/test_batch.bin"}));
}

}  // namespace
}  // namespace kiln
