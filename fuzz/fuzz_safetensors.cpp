// libFuzzer target: the safetensors parser (every check of the reference parser).
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)kiln::parse_safetensors(data, size, "fuzz.safetensors");
  } catch (const kiln::Error&) {
  }
  return 0;
}
