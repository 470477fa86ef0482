// Shared test helpers (see helpers.h).
#include "tests/support/helpers.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/file_io.h"
#include "core/generator.h"
#include "core/ops.h"

namespace kiln::testing {

std::string device_dtype_name(const ::testing::TestParamInfo<DeviceDType>& info) {
  return std::string(info.param.device.is_cpu() ? "cpu" : "cuda") + "_" + dtype_name(info.param.dtype);
}

std::vector<DeviceDType> all_device_dtypes() {
  return {{Device::cpu(), DType::Float32},
          {Device::cpu(), DType::Float64},
          {Device::cuda(), DType::Float32},
          {Device::cuda(), DType::Float64}};
}

Tensor random_normal(const Shape& shape, uint64_t seed, DType dtype, Device device) {
  Generator gen(seed);
  return randn(shape, gen, dtype, Device::cpu()).to(device);
}

Tensor random_uniform(const Shape& shape, uint64_t seed, double lo, double hi, DType dtype, Device device) {
  Generator gen(seed);
  Tensor t = Tensor::empty(shape, dtype, Device::cpu());
  uniform_(t, gen, lo, hi);
  return t.to(device);
}

::testing::AssertionResult all_close(const std::vector<double>& actual, const std::vector<double>& expected,
                                     double atol, double rtol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure()
           << "size " << actual.size() << " != expected size " << expected.size();
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double err = std::fabs(actual[i] - expected[i]);
    const bool ok = err <= atol + rtol * std::fabs(expected[i]);  // false for NaN
    if (!ok) {
      if (bad++ == 0) first = i;
      if (!(err <= worst)) worst = err;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << actual.size() << " elements differ (atol " << atol << ", rtol " << rtol
         << "); first at " << first << ": got " << actual[first] << ", expected " << expected[first]
         << "; worst |err| " << worst;
}

::testing::AssertionResult all_close(const Tensor& actual, const std::vector<double>& expected, double atol,
                                     double rtol) {
  return all_close(actual.to_vector<double>(), expected, atol, rtol);
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure()
           << "shape " << shape_str(actual.shape()) << " != expected " << shape_str(expected.shape());
  return all_close(actual.to_vector<double>(), expected.to_vector<double>(), atol, rtol);
}

::testing::AssertionResult bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    return ::testing::AssertionFailure()
           << "shape/dtype differ: " << shape_str(a.shape()) << " " << dtype_name(a.dtype()) << " vs "
           << shape_str(b.shape()) << " " << dtype_name(b.dtype());
  const Tensor ha = a.detach().to(Device::cpu()).contiguous(), hb = b.detach().to(Device::cpu()).contiguous();
  const auto* pa = static_cast<const unsigned char*>(ha.raw_data());
  const auto* pb = static_cast<const unsigned char*>(hb.raw_data());
  const size_t esize = dtype_size(a.dtype());
  for (int64_t i = 0; i < ha.numel(); ++i)
    if (std::memcmp(pa + i * esize, pb + i * esize, esize) != 0)
      return ::testing::AssertionFailure()
             << "element " << i << " differs: " << ha.reshape({-1}).select(0, i).item<double>() << " vs "
             << hb.reshape({-1}).select(0, i).item<double>();
  return ::testing::AssertionSuccess();
}

std::string source_dir() {
  const char* env = std::getenv("KILN_SOURCE_DIR");
  return env ? env : KILN_SOURCE_DIR;
}

std::string kiln_binary() {
  const char* env = std::getenv("KILN_BINARY");
  return env ? env : KILN_BINARY;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

::testing::AssertionResult mentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const std::string& p : parts)
    if (message.find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "'" << message << "' does not mention '" << p << "'";
  return ::testing::AssertionSuccess();
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln-test-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  if (!made) throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace kiln::testing
