// Device names and CUDA availability (the CUDA queries live in core/cuda_context.cpp).
#include "core/device.h"

#include <charconv>

#include "core/error.h"
#if KILN_HAS_CUDA
#include "core/cuda_context.h"
#endif

namespace kiln {

std::string Device::str() const { return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index); }

Device Device::parse(std::string_view text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.substr(0, 5) == "cuda:") {
    int index = -1;
    const auto digits = text.substr(5);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && index >= 0) return cuda(index);
  }
  KILN_FAIL("invalid device '", text, "': expected cpu, cuda or cuda:N");
}

#if KILN_HAS_CUDA
void check_device_errors(Device device) {
  if (device.is_cuda()) cuda::check_device_errors();
}
#else
bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
void select_cuda_device(int index) { KILN_FAIL("kiln was built without CUDA support: no cuda:", index); }
void check_device_errors(Device) {}
#endif

}  // namespace kiln
