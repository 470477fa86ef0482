// Synthetic datasets in the real formats (see synthetic_data.h).
#include "tests/support/synthetic_data.h"

#include <vector>

#include "core/file_io.h"
#include "core/philox.h"

namespace kiln::testing {

namespace {

uint8_t noise(uint64_t seed, uint64_t i) { return static_cast<uint8_t>(philox::draw_u32(seed, 7, i) % 40); }

void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

void write_idx_pair(const std::string& dir, const std::string& prefix, int64_t n, uint64_t seed) {
  std::vector<uint8_t> images = {0, 0, 8, 3}, labels = {0, 0, 8, 1};
  put_u32(images, static_cast<uint32_t>(n));
  put_u32(images, 28);
  put_u32(images, 28);
  put_u32(labels, static_cast<uint32_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = i % 10;
    labels.push_back(static_cast<uint8_t>(k));
    for (int64_t y = 0; y < 28; ++y)
      for (int64_t x = 0; x < 28; ++x) {
        const bool bar = y >= 2 + 2 * k && y < 4 + 2 * k && x >= 4 && x < 24;
        images.push_back(bar ? 230 : noise(seed, static_cast<uint64_t>((i * 28 + y) * 28 + x)));
      }
  }
  write_file_atomic(dir + "/" + prefix + "-images-idx3-ubyte", images.data(), images.size());
  write_file_atomic(dir + "/" + prefix + "-labels-idx1-ubyte", labels.data(), labels.size());
}

std::vector<uint8_t> cifar_records(int64_t n, int64_t first, uint64_t seed) {
  std::vector<uint8_t> out;
  for (int64_t i = first; i < first + n; ++i) {
    const int64_t k = i % 10;
    out.push_back(static_cast<uint8_t>(k));
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 32; ++y)
        for (int64_t x = 0; x < 32; ++x) {
          const bool bar = y >= 3 * k && y < 3 * k + 3;
          out.push_back(bar ? static_cast<uint8_t>(120 + 40 * c)
                            : noise(seed, static_cast<uint64_t>(((i * 3 + c) * 32 + y) * 32 + x)));
        }
  }
  return out;
}

}  // namespace

void write_synthetic_mnist(const std::string& dir, int64_t n_train, int64_t n_test, uint64_t seed) {
  write_idx_pair(dir, "train", n_train, seed);
  write_idx_pair(dir, "t10k", n_test, seed + 1);
}

void write_synthetic_cifar10(const std::string& dir, int64_t per_batch, int64_t n_test, uint64_t seed) {
  for (int b = 1; b <= 5; ++b) {
    const auto rec = cifar_records(per_batch, (b - 1) * per_batch, seed);
    write_file_atomic(dir + "/data_batch_" + std::to_string(b) + ".bin", rec.data(), rec.size());
  }
  const auto test = cifar_records(n_test, 0, seed + 1);
  write_file_atomic(dir + "/test_batch.bin", test.data(), test.size());
}

void tiny_mnist_run(CommonOptions& c, const std::string& data_dir, const std::string& out, uint64_t seed) {
  c.dataset = "mnist";
  c.data_dir = data_dir;
  c.device = "cpu";
  c.epochs = 1;
  c.limit = 32;
  c.test_limit = 20;
  c.out = out;
  c.quiet = true;
  c.seed = seed;
}

}  // namespace kiln::testing
