// safetensors: the tensor file format of Hugging Face's `safetensors` package, used by kiln
// for checkpoints, state dicts and test fixtures, so files interchange with PyTorch.
// Layout: 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// then the data buffer; offsets are relative to the buffer. Reading applies every check of
// the format's reference parser (header size cap, well-formed JSON, dtype/shape/byte-range
// agreement, no overlaps, no holes, no trailing bytes, no integer overflow) and throws a
// kiln::Error naming the file and the violation. It is stricter than the reference in a few
// places a well-formed writer never reaches: duplicate keys, unknown entry fields, empty
// tensor names and a header not starting with '{' are errors rather than silently accepted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsContents {
  TensorMap tensors;  // CPU tensors, contiguous
  Metadata metadata;  // the optional "__metadata__" string map
};

// Largest JSON header accepted (the reference implementation's limit).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// Encodes tensors (any device; copied to the host) in the file layout. Supported dtypes:
// F32, F64, I64, U8, BF16. Names must be non-empty and not "__metadata__".
std::vector<uint8_t> serialize_safetensors(const TensorMap& tensors, const Metadata& metadata = {});

// Decodes a complete file image; `source` names it in error messages (e.g. the path).
// Dtypes other than F32, F64, I64, U8 and BF16 (F16, I32, ...) are rejected as unsupported.
SafetensorsContents parse_safetensors(const uint8_t* data, size_t size, const std::string& source);

// Writes atomically: a temporary file beside `path`, flushed and fsync'ed, renamed over
// `path`, then the directory fsync'ed. A crash leaves either the old file or the new one.
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});
SafetensorsContents load_safetensors(const std::string& path);

}  // namespace kiln
