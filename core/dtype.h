// Element types a Tensor can hold. The set is what the experiments need: float32 for
// training, float64 for gradient checks, int64 for labels and indices, uint8 for datasets
// kept in memory as bytes. bfloat16 is storable (safetensors) but has no arithmetic yet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace kiln {

enum class DType : uint8_t { Float32, Float64, Int64, UInt8, BFloat16 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32:
      return 4;
    case DType::Float64:
      return 8;
    case DType::Int64:
      return 8;
    case DType::UInt8:
      return 1;
    case DType::BFloat16:
      return 2;
  }
  return 0;
}

constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Int64:
      return "int64";
    case DType::UInt8:
      return "uint8";
    case DType::BFloat16:
      return "bfloat16";
  }
  return "?";
}

constexpr bool is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::BFloat16;
}

// Maps a C++ element type to its DType, so templated code can check what it is handed.
template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::Float32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::Float64;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::Int64;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::UInt8;
};
template <typename T>
constexpr DType dtype_of = DTypeOf<T>::value;

}  // namespace kiln
