// Division by a run-time constant without a divide instruction, for the index arithmetic of
// the CUDA kernels. GPUs have no integer divider: a 64-bit `/` or `%` compiles to a ~70-
// instruction subroutine and a 32-bit one to ~20, which in an implicit-GEMM inner loop costs
// more than the tensor-core math. A divisor fixed for the whole launch (a tensor extent) is
// turned once, on the host, into a multiplier and a shift, and every division becomes one
// high-half multiply, an add and a shift.
//
// Method: Granlund & Montgomery, "Division by invariant integers using multiplication"
// (PLDI 1994), Figure 4.1 with N = 32: for 1 <= d < 2^31, l = ceil(log2 d) and
// m = floor(2^32 (2^l - d) / d) + 1, the quotient of any 0 <= n < 2^31 is
// (mulhi(m, n) + n) >> l. With n < 2^31 the sum cannot overflow 32 bits, so no fix-up step
// is needed. The range is checked on the host (fits()); callers fall back or refuse beyond it.
#pragma once

#include <cstdint>

#include "core/macros.h"

namespace kiln::kernels {

class FastDivmod {
 public:
  static constexpr int64_t kLimit = int64_t(1) << 31;  // divisors and dividends stay below

  // True when d can be a divisor and every dividend below `max_dividend` is in range.
  static constexpr bool fits(int64_t d, int64_t max_dividend) {
    return d >= 1 && d < kLimit && max_dividend <= kLimit;
  }

  FastDivmod() = default;
  // d must satisfy fits(d, ...); checked by the caller on the host before a launch.
  explicit FastDivmod(int64_t d) : divisor_(static_cast<uint32_t>(d)) {
    while ((uint64_t(1) << shift_) < static_cast<uint64_t>(d)) ++shift_;  // ceil(log2 d)
    const uint64_t two32 = uint64_t(1) << 32;
    multiplier_ = static_cast<uint32_t>(
        two32 * ((uint64_t(1) << shift_) - static_cast<uint64_t>(d)) / static_cast<uint64_t>(d) + 1);
  }

  KILN_HD KILN_FORCEINLINE uint32_t divisor() const { return divisor_; }

  KILN_HD KILN_FORCEINLINE uint32_t div(uint32_t n) const { return (mulhi(multiplier_, n) + n) >> shift_; }

  KILN_HD KILN_FORCEINLINE uint32_t mod(uint32_t n) const { return n - div(n) * divisor_; }

  // quotient = n / d, remainder = n % d.
  KILN_HD KILN_FORCEINLINE void divmod(uint32_t n, uint32_t& quotient, uint32_t& remainder) const {
    quotient = div(n);
    remainder = n - quotient * divisor_;
  }

 private:
  KILN_HD static KILN_FORCEINLINE uint32_t mulhi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
    return __umulhi(a, b);
#else
    return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
  }

  uint32_t divisor_ = 1;
  uint32_t multiplier_ = 1;  // d = 1: l = 0, m = 1, so mulhi = 0 and the quotient is n
  uint32_t shift_ = 0;
};

}  // namespace kiln::kernels
