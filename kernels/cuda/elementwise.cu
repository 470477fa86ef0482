// CUDA elementwise kernels (contract: kernels/elementwise.h). Contiguous operands take a
// vectorised path (16-byte loads and stores, grid-stride) that runs at copy bandwidth;
// anything else uses the merged-dimension strided indexer of kernels/strided.h.
#include <cuda_runtime.h>

#include <optional>
#include <vector>

#include "core/cuda_context.h"
#include "core/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_ops.h"
#include "kernels/scratch.h"
#include "kernels/strided.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

template <typename T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// ---- contiguous, vectorised ---------------------------------------------------------------

template <typename T, UnaryOp Op>
__global__ void unary_contig_kernel(const T* a, T* out, int64_t n) {
  constexpr int V = 16 / sizeof(T);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t nvec = n / V;
  for (int64_t i = tid; i < nvec; i += stride) {
    Vec<T, V> x = reinterpret_cast<const Vec<T, V>*>(a)[i];
#pragma unroll
    for (int k = 0; k < V; ++k) x.v[k] = unary_fn<Op>(x.v[k]);
    reinterpret_cast<Vec<T, V>*>(out)[i] = x;
  }
  for (int64_t i = nvec * V + tid; i < n; i += stride) out[i] = unary_fn<Op>(a[i]);
}

template <typename T, BinaryOp Op>
__global__ void binary_contig_kernel(const T* a, const T* b, T* out, int64_t n) {
  constexpr int V = 16 / sizeof(T);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t nvec = n / V;
  for (int64_t i = tid; i < nvec; i += stride) {
    Vec<T, V> x = reinterpret_cast<const Vec<T, V>*>(a)[i];
    const Vec<T, V> y = reinterpret_cast<const Vec<T, V>*>(b)[i];
#pragma unroll
    for (int k = 0; k < V; ++k) x.v[k] = binary_fn<Op>(x.v[k], y.v[k]);
    reinterpret_cast<Vec<T, V>*>(out)[i] = x;
  }
  for (int64_t i = nvec * V + tid; i < n; i += stride) out[i] = binary_fn<Op>(a[i], b[i]);
}

// ---- strided ---------------------------------------------------------------------------------

template <typename T, UnaryOp Op>
__global__ void unary_strided_kernel(const T* a, T* out, StridedOperands<2> s) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < s.numel; i += stride) {
    int64_t o[2];
    s.offsets(i, o);
    out[o[0]] = unary_fn<Op>(a[o[1]]);
  }
}

template <typename T, BinaryOp Op>
__global__ void binary_strided_kernel(const T* a, const T* b, T* out, StridedOperands<3> s) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < s.numel; i += stride) {
    int64_t o[3];
    s.offsets(i, o);
    out[o[0]] = binary_fn<Op>(a[o[1]], b[o[2]]);
  }
}

template <typename T, BinaryOp Op>
__global__ void binary_scalar_kernel(const T* a, T c, bool scalar_first, T* out, StridedOperands<2> s) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < s.numel; i += stride) {
    int64_t o[2];
    s.offsets(i, o);
    out[o[0]] = scalar_first ? binary_fn<Op>(c, a[o[1]]) : binary_fn<Op>(a[o[1]], c);
  }
}

template <typename T>
__global__ void axpy_kernel(const T* x, T alpha, T* out, StridedOperands<2> s) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < s.numel; i += stride) {
    int64_t o[2];
    s.offsets(i, o);
    out[o[0]] += alpha * x[o[1]];
  }
}

template <typename To, typename From>
__global__ void copy_kernel(const From* src, To* dst, StridedOperands<2> s) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < s.numel; i += stride) {
    int64_t o[2];
    s.offsets(i, o);
    dst[o[0]] = convert<To>(src[o[1]]);
  }
}

template <typename T>
__global__ void fill_kernel(T* dst, T value, StridedOperands<1> s) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < s.numel; i += stride) {
    int64_t o[1];
    s.offsets(i, o);
    dst[o[0]] = value;
  }
}

unsigned grid(int64_t n) { return kiln::cuda::grid_for(n, kThreads); }

// Same-dtype, same-shape device copy between arbitrary strides on the device.
void device_copy(const StridedArray& src, const StridedArray& dst) {
  const auto s = make_strided<2>({&dst, &src});
  if (s.numel == 0) return;
  if (s.is_contiguous() && src.dtype == dst.dtype) {
    KILN_CUDA_CHECK(
        cudaMemcpyAsync(dst.data, src.data, dst.nbytes(), cudaMemcpyDeviceToDevice, kiln::cuda::stream()));
    return;
  }
  dispatch_all(dst.dtype, "copy", [&]<typename To>() {
    dispatch_all(src.dtype, "copy", [&]<typename From>() {
      kiln::cuda::launch(copy_kernel<To, From>, {grid(s.numel), kThreads}, static_cast<const From*>(src.data),
                         static_cast<To*>(dst.data), s);
    });
  });
}

}  // namespace

void unary(UnaryOp op, const StridedArray& a, const StridedArray& out) {
  const auto s = make_strided<2>({&out, &a});
  if (s.numel == 0) return;
  dispatch_floating(out.dtype, op_name(op), [&]<typename T>() {
    with_unary(op, [&]<UnaryOp Op>() {
      if (s.is_contiguous() && aligned16(a.data) && aligned16(out.data)) {
        unary_contig_kernel<T, Op>
            <<<grid(s.numel / (16 / sizeof(T)) + 1), kThreads, 0, kiln::cuda::stream()>>>(
                a.as<T>(), out.as<T>(), s.numel);
      } else {
        unary_strided_kernel<T, Op>
            <<<grid(s.numel), kThreads, 0, kiln::cuda::stream()>>>(a.as<T>(), out.as<T>(), s);
      }
      KILN_LAUNCH_CHECK();
    });
  });
}

void binary(BinaryOp op, const StridedArray& a, const StridedArray& b, const StridedArray& out) {
  const auto s = make_strided<3>({&out, &a, &b});
  if (s.numel == 0) return;
  dispatch_floating(out.dtype, op_name(op), [&]<typename T>() {
    with_binary(op, [&]<BinaryOp Op>() {
      if (s.is_contiguous() && aligned16(a.data) && aligned16(b.data) && aligned16(out.data)) {
        binary_contig_kernel<T, Op>
            <<<grid(s.numel / (16 / sizeof(T)) + 1), kThreads, 0, kiln::cuda::stream()>>>(
                a.as<T>(), b.as<T>(), out.as<T>(), s.numel);
      } else {
        binary_strided_kernel<T, Op>
            <<<grid(s.numel), kThreads, 0, kiln::cuda::stream()>>>(a.as<T>(), b.as<T>(), out.as<T>(), s);
      }
      KILN_LAUNCH_CHECK();
    });
  });
}

void binary_scalar(BinaryOp op, const StridedArray& a, double scalar, ScalarSide side,
                   const StridedArray& out) {
  const bool scalar_first = side == ScalarSide::Left;
  const auto s = make_strided<2>({&out, &a});
  if (s.numel == 0) return;
  dispatch_floating(out.dtype, op_name(op), [&]<typename T>() {
    with_binary(op, [&]<BinaryOp Op>() {
      kiln::cuda::launch(binary_scalar_kernel<T, Op>, {grid(s.numel), kThreads}, a.as<T>(),
                         static_cast<T>(scalar), scalar_first, out.as<T>(), s);
    });
  });
}

void axpy(const StridedArray& x, double alpha, const StridedArray& out) {
  const auto s = make_strided<2>({&out, &x});
  if (s.numel == 0) return;
  dispatch_floating(out.dtype, "add_", [&]<typename T>() {
    kiln::cuda::launch(axpy_kernel<T>, {grid(s.numel), kThreads}, x.as<T>(), static_cast<T>(alpha),
                       out.as<T>(), s);
  });
}

void fill(const StridedArray& dst, double value) {
  const StridedArray* operands[1] = {&dst};
  const auto s = make_strided<1>(operands);
  if (s.numel == 0) return;
  dispatch_all(dst.dtype, "fill", [&]<typename T>() {
    kiln::cuda::launch(fill_kernel<T>, {grid(s.numel), kThreads}, static_cast<T*>(dst.data),
                       convert<T>(value), s);
  });
}

namespace {

// A dense staging array shaped like `like`, in scratch memory on `device`.
class DenseStaging {
 public:
  DenseStaging(const StridedArray& like, DType dtype, Device device)
      : memory_(device, static_cast<int64_t>(like.numel() * dtype_size(dtype))),
        strides_(dense_strides(like.ndim, like.sizes)) {
    array_ = StridedArray{memory_.data(), dtype, device, like.ndim, like.sizes, strides_.data()};
  }
  const StridedArray& array() const { return array_; }

 private:
  Scratch<uint8_t> memory_;
  std::vector<int64_t> strides_;
  StridedArray array_;
};

}  // namespace

void copy(const StridedArray& src, const StridedArray& dst) {
  if (dst.numel() == 0) return;
  const bool src_cuda = src.device.is_cuda(), dst_cuda = dst.device.is_cuda();
  if (src_cuda && dst_cuda) {
    device_copy(src, dst);
    return;
  }
  if (dst_cuda) {
    // Host -> device: convert and densify on the host, one transfer, then scatter on the
    // device if the destination is strided.
    DenseStaging host(dst, dst.dtype, Device::cpu());
    kernels::cpu::copy(src, host.array());
    if (dst.is_contiguous()) {
      KILN_CUDA_CHECK(cudaMemcpyAsync(dst.data, host.array().data, dst.nbytes(), cudaMemcpyHostToDevice,
                                      kiln::cuda::stream()));
      // The host buffer dies with this scope; a pageable-memory copy has consumed it by the
      // time cudaMemcpyAsync returns, but synchronising keeps this path obviously safe.
      kiln::cuda::synchronize();
    } else {
      DenseStaging staged(dst, dst.dtype, dst.device);
      KILN_CUDA_CHECK(cudaMemcpyAsync(staged.array().data, host.array().data, dst.nbytes(),
                                      cudaMemcpyHostToDevice, kiln::cuda::stream()));
      kiln::cuda::synchronize();
      device_copy(staged.array(), dst);
    }
    return;
  }
  // Device -> host: densify and convert on the device, one transfer, then wait for it.
  std::optional<DenseStaging> densified;
  if (!src.is_contiguous() || src.dtype != dst.dtype) {
    densified.emplace(src, dst.dtype, src.device);
    device_copy(src, densified->array());
  }
  const StridedArray& dense = densified ? densified->array() : src;
  if (dst.is_contiguous()) {
    KILN_CUDA_CHECK(
        cudaMemcpyAsync(dst.data, dense.data, dst.nbytes(), cudaMemcpyDeviceToHost, kiln::cuda::stream()));
    kiln::cuda::synchronize();
  } else {
    DenseStaging host(dst, dst.dtype, Device::cpu());
    KILN_CUDA_CHECK(cudaMemcpyAsync(host.array().data, dense.data, dst.nbytes(), cudaMemcpyDeviceToHost,
                                    kiln::cuda::stream()));
    kiln::cuda::synchronize();
    kernels::cpu::copy(host.array(), dst);
  }
}

}  // namespace kiln::kernels::cuda
