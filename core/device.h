// Where a tensor's bytes live: host memory or one CUDA device.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace kiln {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static constexpr Device cpu() { return {DeviceType::CPU, 0}; }
  static constexpr Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }

  constexpr bool is_cpu() const { return type == DeviceType::CPU; }
  constexpr bool is_cuda() const { return type == DeviceType::CUDA; }
  constexpr bool operator==(const Device&) const = default;

  std::string str() const;  // "cpu", "cuda:0"
  // Parses "cpu", "cuda" or "cuda:N"; throws kiln::Error naming the text otherwise.
  static Device parse(std::string_view text);
};

inline void PrintTo(const Device& d, std::ostream* os) { *os << d.str(); }

// True when kiln was built with its CUDA backend.
bool cuda_built();
// Number of usable CUDA devices (0 without the backend, a driver or a GPU). Never throws.
int cuda_device_count();
inline bool cuda_available() { return cuda_device_count() > 0; }

// kiln drives one GPU per process: this selects it (cudaSetDevice) before any CUDA work.
void select_cuda_device(int index);

// CUDA kernels cannot throw; on invalid input (an index or label out of range) they raise a
// device-side flag. This reads it (one synchronisation) and throws a kiln::Error saying what
// was found; a no-op for the CPU, whose kernels throw at once. Trainers call it where they
// already wait for the device (the end of each pass).
void check_device_errors(Device device);

}  // namespace kiln
