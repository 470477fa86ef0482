// Turning a runtime dtype into a template parameter, once per kernel call:
//   dispatch_floating(t.dtype(), "relu", [&]<typename T>() { loop<T>(...); });
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/bfloat16.h"
#include "core/dtype.h"
#include "core/error.h"

namespace kiln {

template <typename F>
decltype(auto) dispatch_floating(DType dtype, const char* what, F&& f) {
  switch (dtype) {
    case DType::Float32:
      return f.template operator()<float>();
    case DType::Float64:
      return f.template operator()<double>();
    default:
      break;
  }
  KILN_FAIL(what, ": expected a float32 or float64 tensor, got ", dtype_name(dtype));
}

// Every storable dtype (bfloat16 as the BFloat16 storage struct).
template <typename F>
decltype(auto) dispatch_all(DType dtype, const char* what, F&& f) {
  switch (dtype) {
    case DType::Float32:
      return f.template operator()<float>();
    case DType::Float64:
      return f.template operator()<double>();
    case DType::Int64:
      return f.template operator()<int64_t>();
    case DType::UInt8:
      return f.template operator()<uint8_t>();
    case DType::BFloat16:
      return f.template operator()<BFloat16>();
  }
  KILN_FAIL(what, ": unsupported dtype");
}

// Conversion between storable types, through float for bfloat16. Floating to integer
// truncates toward zero and saturates at the integer type's range, NaN giving 0: a C cast is
// undefined out of range (x86 and CUDA disagree), so both devices do this instead.
template <typename To, typename From>
KILN_HD KILN_FORCEINLINE To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<From, BFloat16>) {
    return convert<To>(bf16_to_float(v));
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    return float_to_bf16(static_cast<float>(v));
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    if (!(v == v)) return To(0);  // NaN
    // The bounds as From values; the upper one rounds up to a power of two for int64, so
    // compare with >= to stay in range.
    constexpr From lo = static_cast<From>(std::numeric_limits<To>::min());
    constexpr From hi = static_cast<From>(std::numeric_limits<To>::max());
    if (v <= lo) return std::numeric_limits<To>::min();
    if (v >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace kiln
