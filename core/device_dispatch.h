// The one place an op chooses between kernels/cpu and kernels/cuda.
//
//   KILN_ON_DEVICE(x.device(), mse_forward<T>)(n, x.data<T>(), y.data<T>(), out.data<T>());
//
// selects kernels::cpu::mse_forward<T> or kernels::cuda::mse_forward<T> and calls it once, so
// the argument list is written once. Both kernels must have the same type: a CPU and a CUDA
// kernel whose signatures drift apart are a compile error, not a silent overload.
//
// Without the CUDA backend no CUDA tensor can exist and the CUDA kernels are declared but
// never defined. The CUDA side is then named only inside decltype (which does not reference
// the symbol) and replaced by a stub of the same type that throws, so the CPU-only build links.
#pragma once

#include <type_traits>

#include "core/device.h"
#include "core/error.h"

// For the few calls whose CPU and CUDA sides differ (conv2d's CUDA kernels take a precision,
// a copy is CUDA when either end is): the CUDA expression, or an error without CUDA.
#if KILN_HAS_CUDA
#define KILN_ON_CUDA(...) (__VA_ARGS__)
#else
#define KILN_ON_CUDA(...) KILN_FAIL("kiln was built without CUDA support")
#endif

namespace kiln {

namespace detail {
template <typename Kernel>
struct CudaUnavailable;

// Stands in for a CUDA kernel in a build without CUDA; same signature, never reached.
template <typename R, typename... Params>
struct CudaUnavailable<R(Params...)> {
  [[noreturn]] static R call(Params...) { KILN_FAIL("kiln was built without CUDA support"); }
};
}  // namespace detail

// Returns the kernel that runs on `device`. Callers normally go through KILN_ON_DEVICE.
template <typename CpuKernel, typename CudaKernel>
CpuKernel* on_device(const Device& device, CpuKernel* cpu, CudaKernel* cuda) {
  static_assert(std::is_function_v<CpuKernel>, "on_device selects between two functions");
  static_assert(std::is_same_v<CpuKernel, CudaKernel>,
                "the CPU and CUDA kernels of one family must have the same signature");
  return device.is_cpu() ? cpu : cuda;
}

}  // namespace kiln

// A pointer to a CUDA kernel, or to a throwing stub of the same type without CUDA.
#if KILN_HAS_CUDA
#define KILN_CUDA_KERNEL(...) (&__VA_ARGS__)
#else
#define KILN_CUDA_KERNEL(...) (&::kiln::detail::CudaUnavailable<decltype(__VA_ARGS__)>::call)
#endif

// The kernel named `kernel` (e.g. `gemm<T>`) from kernels::cpu or kernels::cuda, whichever
// runs on `device`; call the result with the kernel's arguments.
#define KILN_ON_DEVICE(device, ...)                               \
  ::kiln::on_device((device), &::kiln::kernels::cpu::__VA_ARGS__, \
                    KILN_CUDA_KERNEL(::kiln::kernels::cuda::__VA_ARGS__))
