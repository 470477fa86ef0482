// libFuzzer target: the CIFAR-10 binary batch reader.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "data/cifar10.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)kiln::parse_cifar10_batch(data, size, "fuzz.bin");
  } catch (const kiln::Error&) {
  }
  return 0;
}
