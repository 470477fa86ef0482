// CIFAR-10 binary batches (see cifar10.h). A record's 3072 pixel bytes are already the planar
// [3, 32, 32] layout kiln stores, so decoding is a validated copy per record.
#include "data/cifar10.h"

#include <cstring>
#include <filesystem>

#include "core/file_io.h"

namespace kiln {

namespace {

constexpr int64_t kCifarClasses = 10;
constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarPixelBytes = kCifarRecordBytes - 1;  // 3 * 32 * 32
// An official batch is 30,730,000 bytes; anything beyond 1 GiB is not a CIFAR-10 batch.
constexpr uint64_t kCifarMaxFileBytes = uint64_t(1) << 30;

std::vector<std::string> cifar10_class_names() {
  return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

// Checks a batch's size and labels; returns its record count.
int64_t check_batch(const uint8_t* data, size_t size, const std::string& source) {
  KILN_CHECK(data != nullptr || size == 0, source, ": no data");
  KILN_CHECK(size > 0 && size % kCifarRecordBytes == 0, source, ": ", size,
             " bytes is not a non-zero multiple of the ", kCifarRecordBytes,
             "-byte CIFAR-10 record (1 label byte + 3072 pixel bytes)");
  const int64_t n = static_cast<int64_t>(size / kCifarRecordBytes);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t label = data[i * kCifarRecordBytes];
    KILN_CHECK(label < kCifarClasses, source, ": record ", i, " (byte offset ", i * kCifarRecordBytes,
               ") has label ", int(label), ", expected 0 to ", kCifarClasses - 1);
  }
  return n;
}

// Copies `n` already-checked records into the pixel and label buffers at record `at`.
void copy_records(const uint8_t* data, int64_t n, uint8_t* pixels, int64_t* labels, int64_t at) {
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* record = data + i * kCifarRecordBytes;
    labels[at + i] = record[0];
    std::memcpy(pixels + (at + i) * kCifarPixelBytes, record + 1, kCifarPixelBytes);
  }
}

Dataset make_dataset(int64_t n) {
  Dataset d;
  d.inputs = Tensor::empty({n, 3, kCifarSide, kCifarSide}, DType::UInt8);
  d.targets = Tensor::empty({n}, DType::Int64);
  d.class_names = cifar10_class_names();
  return d;
}

}  // namespace

Dataset parse_cifar10_batch(const uint8_t* data, size_t size, const std::string& source) {
  const int64_t n = check_batch(data, size, source);
  Dataset d = make_dataset(n);
  copy_records(data, n, d.inputs.data<uint8_t>(), d.targets.data<int64_t>(), 0);
  return d;
}

Dataset read_cifar10_batch(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, kCifarMaxFileBytes);
  return parse_cifar10_batch(bytes.data(), bytes.size(), path);
}

Dataset load_cifar10(const std::string& dir, bool train) {
  std::vector<std::string> paths;
  if (train) {
    for (int b = 1; b <= 5; ++b)
      paths.push_back((std::filesystem::path(dir) / ("data_batch_" + std::to_string(b) + ".bin")).string());
  } else {
    paths.push_back((std::filesystem::path(dir) / "test_batch.bin").string());
  }
  // Check every file before reading any, so a missing batch is reported up front and by name.
  for (const std::string& path : paths) {
    std::error_code ec;
    KILN_CHECK(std::filesystem::is_regular_file(path, ec), "CIFAR-10 ", train ? "training" : "test",
               " batch not found: '", path, "' (expected ",
               train ? "data_batch_1.bin .. data_batch_5.bin" : "test_batch.bin",
               " from cifar-10-binary.tar.gz in '", dir, "')");
  }
  // Read and check all batches, then copy them once into the final tensors.
  std::vector<std::vector<uint8_t>> files;
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const std::string& path : paths) {
    files.push_back(read_file_bytes(path, kCifarMaxFileBytes));
    counts.push_back(check_batch(files.back().data(), files.back().size(), path));
    total += counts.back();
  }
  Dataset d = make_dataset(total);
  uint8_t* pixels = d.inputs.data<uint8_t>();
  int64_t* labels = d.targets.data<int64_t>();
  int64_t at = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    copy_records(files[f].data(), counts[f], pixels, labels, at);
    at += counts[f];
  }
  return d;
}

}  // namespace kiln
