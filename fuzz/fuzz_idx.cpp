// libFuzzer target: the IDX reader, raw and gzip-compressed (the gunzip cap is lowered so
// the fuzzer explores it instead of allocating a gigabyte).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
      const std::vector<uint8_t> raw = kiln::gunzip(data, size, uint64_t(16) << 20, "fuzz.gz");
      (void)kiln::parse_idx(raw.data(), raw.size(), "fuzz.gz");
    } else {
      (void)kiln::parse_idx(data, size, "fuzz");
    }
  } catch (const kiln::Error&) {
    // A clear error is the expected outcome for malformed input.
  }
  return 0;
}
