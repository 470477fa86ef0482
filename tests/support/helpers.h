// Shared test helpers: device x dtype parametrisation (CUDA cases skip without a GPU),
// random inputs, and closeness assertions that report the first offending element.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"

namespace kiln::testing {

struct DeviceDType {
  Device device;
  DType dtype;
};
std::string device_dtype_name(const ::testing::TestParamInfo<DeviceDType>& info);
inline void PrintTo(const DeviceDType& p, std::ostream* os) {
  *os << p.device.str() << "/" << dtype_name(p.dtype);
}
// cpu/float32, cpu/float64, cuda/float32, cuda/float64.
std::vector<DeviceDType> all_device_dtypes();

// Skips the current test when no CUDA device can run it.
#define KILN_REQUIRE_CUDA()                                                    \
  do {                                                                         \
    if (!::kiln::cuda_available()) GTEST_SKIP() << "no CUDA device available"; \
  } while (0)
#define KILN_SKIP_UNLESS_DEVICE(device)                                                              \
  do {                                                                                               \
    if ((device).is_cuda() && !::kiln::cuda_available()) GTEST_SKIP() << "no CUDA device available"; \
  } while (0)

// Standard-normal (or uniform [lo, hi)) values from a fixed Philox seed, on `device`.
Tensor random_normal(const Shape& shape, uint64_t seed, DType dtype = DType::Float64,
                     Device device = Device::cpu());
Tensor random_uniform(const Shape& shape, uint64_t seed, double lo, double hi, DType dtype = DType::Float64,
                      Device device = Device::cpu());

// |actual - expected| <= atol + rtol * |expected| elementwise (NaN never passes).
::testing::AssertionResult all_close(const std::vector<double>& actual, const std::vector<double>& expected,
                                     double atol, double rtol);
::testing::AssertionResult all_close(const Tensor& actual, const std::vector<double>& expected, double atol,
                                     double rtol);
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol, double rtol);

// Bitwise equality of two float tensors' contents.
::testing::AssertionResult bit_equal(const Tensor& a, const Tensor& b);

// The message of the kiln::Error that `f` throws, or "no error".
std::string error_of(const std::function<void()>& f);
// Whether `message` contains every one of `parts` (the failure names the first missing one).
::testing::AssertionResult mentions(const std::string& message, const std::vector<std::string>& parts);
// Writes `bytes` to `path` (atomically, like every file kiln writes).
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

// Where the tests find the repository (fixtures) and the `kiln` program: compiled-in
// paths, overridable with the environment variables KILN_SOURCE_DIR and KILN_BINARY when the
// test binary runs on another machine (the GPU check carries it there).
std::string source_dir();
std::string kiln_binary();

// A unique empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace kiln::testing
