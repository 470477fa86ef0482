// CUDA batch normalisation (contract: kernels/batchnorm.h).
// Training forward is two launches over a (channel, split) grid: (1) each block reduces its
// slice of one channel with per-thread Welford accumulators merged by Chan's formula in a
// fixed tree, writing a partial (count, mean, M2); (2) each block merges its channel's
// partials in split order (so every block of a channel computes identical statistics),
// normalises its slice, and block 0 of the channel writes the saved and running statistics.
// Backward has the same shape with partial sums of dy and dy*xhat. x is read twice forward
// and twice backward; there are no atomics, so results are deterministic.
#include <cuda_runtime.h>

#include "core/cuda_context.h"
#include "core/tensor.h"
#include "kernels/batchnorm.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

struct Welford {
  double count;  // double so merged counts stay exact and the merge arithmetic is uniform
  double mean;
  double m2;
};

template <typename A>
__device__ void chan_merge(A& n_a, A& mean_a, A& m2_a, A n_b, A mean_b, A m2_b) {
  const A n = n_a + n_b;
  if (n_b == A(0)) return;
  if (n_a == A(0)) {
    n_a = n_b;
    mean_a = mean_b;
    m2_a = m2_b;
    return;
  }
  const A delta = mean_b - mean_a;
  mean_a = mean_a + delta * (n_b / n);
  m2_a = m2_a + m2_b + delta * delta * (n_a * n_b / n);
  n_a = n;
}

// Elements of channel c in the flattened [n, hw] index range [begin, end).
template <typename T>
__device__ __forceinline__ const T* channel_element(const T* base, int64_t j, int64_t c, int64_t C, int64_t hw) {
  const int64_t n = j / hw;
  return base + (n * C + c) * hw + (j - n * hw);
}

struct SplitRange {
  int64_t begin, end;
};

__device__ SplitRange split_range(int64_t m, int splits, int split) {
  const int64_t chunk = (m + splits - 1) / splits;
  const int64_t b = split * chunk;
  return {b, b + chunk < m ? b + chunk : m};
}

// Accumulator type: float inputs reduce in float (Welford keeps it accurate), double in double.
template <typename T> struct AccOf { using type = float; };
template <> struct AccOf<double> { using type = double; };

template <typename T>
__global__ void bn_stats_kernel(BatchNormShape s, int splits, const T* x, Welford* partial) {
  using A = typename AccOf<T>::type;
  const int64_t c = blockIdx.x / splits;
  const int split = blockIdx.x % splits;
  const SplitRange r = split_range(s.n * s.hw, splits, split);
  A n = 0, mean = 0, m2 = 0;
  for (int64_t j = r.begin + threadIdx.x; j < r.end; j += blockDim.x) {
    const A v = static_cast<A>(*channel_element(x, j, c, s.c, s.hw));
    n += A(1);
    const A d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
  }
  __shared__ A sn[kThreads], smean[kThreads], sm2[kThreads];
  sn[threadIdx.x] = n;
  smean[threadIdx.x] = mean;
  sm2[threadIdx.x] = m2;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step >>= 1) {
    if (threadIdx.x < step)
      chan_merge(sn[threadIdx.x], smean[threadIdx.x], sm2[threadIdx.x], sn[threadIdx.x + step],
                 smean[threadIdx.x + step], sm2[threadIdx.x + step]);
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = Welford{static_cast<double>(sn[0]), static_cast<double>(smean[0]),
                                                      static_cast<double>(sm2[0])};
}

// Merges the `splits` partials of channel c in order (identical in every block).
__device__ Welford merge_channel(const Welford* partial, int64_t c, int splits) {
  Welford w{0, 0, 0};
  for (int i = 0; i < splits; ++i) {
    const Welford& p = partial[c * splits + i];
    chan_merge(w.count, w.mean, w.m2, p.count, p.mean, p.m2);
  }
  return w;
}

template <typename T>
__global__ void bn_normalize_kernel(BatchNormShape s, int splits, const T* x, const T* gamma, const T* beta,
                                    double eps, double momentum, const Welford* partial, T* y, T* save_mean,
                                    T* save_invstd, T* running_mean, T* running_var) {
  const int64_t c = blockIdx.x / splits;
  const int split = blockIdx.x % splits;
  __shared__ double sh_mean, sh_invstd;
  if (threadIdx.x == 0) {
    const Welford w = merge_channel(partial, c, splits);
    const double var = w.m2 / w.count;
    sh_mean = w.mean;
    sh_invstd = 1.0 / sqrt(var + eps);
    if (split == 0) {
      save_mean[c] = static_cast<T>(w.mean);
      save_invstd[c] = static_cast<T>(sh_invstd);
      if (running_mean)
        running_mean[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_mean[c]) + momentum * w.mean);
      if (running_var) {
        const double unbiased = w.count > 1 ? w.m2 / (w.count - 1) : var;
        running_var[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_var[c]) + momentum * unbiased);
      }
    }
  }
  __syncthreads();
  using A = typename AccOf<T>::type;
  const A g = gamma ? static_cast<A>(gamma[c]) : A(1), b = beta ? static_cast<A>(beta[c]) : A(0);
  // (x - mean) * scale + b, as the CPU and PyTorch: folding mean into a shift (x*scale +
  // (b - mean*scale)) would add the rounding of mean*scale to every output, a large error
  // when |mean| / std is large.
  const A scale = static_cast<A>(sh_invstd) * g;
  const A mean = static_cast<A>(sh_mean);
  const SplitRange r = split_range(s.n * s.hw, splits, split);
  for (int64_t j = r.begin + threadIdx.x; j < r.end; j += blockDim.x) {
    const int64_t n = j / s.hw;
    const int64_t e = (n * s.c + c) * s.hw + (j - n * s.hw);
    y[e] = static_cast<T>((static_cast<A>(x[e]) - mean) * scale + b);
  }
}

template <typename T>
__global__ void bn_eval_kernel(BatchNormShape s, const T* x, const T* gamma, const T* beta, const T* running_mean,
                               const T* running_var, double eps, T* y) {
  const int64_t total = s.n * s.c * s.hw;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t c = (e / s.hw) % s.c;
    const double invstd = 1.0 / sqrt(static_cast<double>(running_var[c]) + eps);
    const double g = gamma ? static_cast<double>(gamma[c]) : 1.0, b = beta ? static_cast<double>(beta[c]) : 0.0;
    y[e] = static_cast<T>((x[e] - static_cast<double>(running_mean[c])) * (g * invstd) + b);
  }
}

struct DySums {
  double dy, dy_xhat;
};

template <typename T>
__global__ void bn_backward_sums_kernel(BatchNormShape s, int splits, const T* dy, const T* x, const T* save_mean,
                                        const T* save_invstd, DySums* partial) {
  using A = typename AccOf<T>::type;
  const int64_t c = blockIdx.x / splits;
  const int split = blockIdx.x % splits;
  const A mean = static_cast<A>(save_mean[c]), invstd = static_cast<A>(save_invstd[c]);
  const SplitRange r = split_range(s.n * s.hw, splits, split);
  A sdy = 0, sdyx = 0;
  for (int64_t j = r.begin + threadIdx.x; j < r.end; j += blockDim.x) {
    const int64_t n = j / s.hw;
    const int64_t e = (n * s.c + c) * s.hw + (j - n * s.hw);
    const A g = static_cast<A>(dy[e]);
    sdy += g;
    sdyx += g * (static_cast<A>(x[e]) - mean) * invstd;
  }
  __shared__ A a[kThreads], b[kThreads];
  a[threadIdx.x] = sdy;
  b[threadIdx.x] = sdyx;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step >>= 1) {
    if (threadIdx.x < step) {
      a[threadIdx.x] += a[threadIdx.x + step];
      b[threadIdx.x] += b[threadIdx.x + step];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = DySums{static_cast<double>(a[0]), static_cast<double>(b[0])};
}

template <typename T>
__global__ void bn_backward_dx_kernel(BatchNormShape s, int splits, const T* dy, const T* x, const T* gamma,
                                      const T* save_mean, const T* save_invstd, const DySums* partial, T* dx,
                                      T* dgamma, T* dbeta) {
  const int64_t c = blockIdx.x / splits;
  const int split = blockIdx.x % splits;
  __shared__ double sh_dy, sh_dyx;
  if (threadIdx.x == 0) {
    double a = 0, b = 0;
    for (int i = 0; i < splits; ++i) {
      a += partial[c * splits + i].dy;
      b += partial[c * splits + i].dy_xhat;
    }
    sh_dy = a;
    sh_dyx = b;
    if (split == 0) {
      if (dgamma) dgamma[c] = static_cast<T>(b);
      if (dbeta) dbeta[c] = static_cast<T>(a);
    }
  }
  __syncthreads();
  if (!dx) return;
  using A = typename AccOf<T>::type;
  const double M = static_cast<double>(s.n * s.hw);
  const A mean = static_cast<A>(save_mean[c]), invstd = static_cast<A>(save_invstd[c]);
  const A k = static_cast<A>((gamma ? static_cast<double>(gamma[c]) : 1.0) * static_cast<double>(save_invstd[c]) / M);
  const A mdy = static_cast<A>(sh_dy), sdyx = static_cast<A>(sh_dyx), m = static_cast<A>(M);
  const SplitRange r = split_range(s.n * s.hw, splits, split);
  for (int64_t j = r.begin + threadIdx.x; j < r.end; j += blockDim.x) {
    const int64_t n = j / s.hw;
    const int64_t e = (n * s.c + c) * s.hw + (j - n * s.hw);
    const A xhat = (static_cast<A>(x[e]) - mean) * invstd;
    dx[e] = static_cast<T>(k * (m * static_cast<A>(dy[e]) - mdy - xhat * sdyx));
  }
}

// Enough (channel, split) blocks to fill the GPU, with at least ~2K elements per block.
int choose_splits(const BatchNormShape& s) {
  const int64_t m = s.n * s.hw;
  int64_t splits = (1024 + s.c - 1) / s.c;
  const int64_t max_useful = (m + 2047) / 2048;
  if (splits > max_useful) splits = max_useful;
  if (splits < 1) splits = 1;
  return static_cast<int>(splits);
}

Device current() { return Device::cuda(kiln::cuda::current_device()); }

}  // namespace

template <typename T>
void batchnorm_forward_train(const BatchNormShape& s, const T* x, const T* gamma, const T* beta, double eps,
                             double momentum, T* y, T* save_mean, T* save_invstd, T* running_mean, T* running_var) {
  if (s.c == 0) return;
  const int splits = choose_splits(s);
  const unsigned blocks = static_cast<unsigned>(s.c * splits);
  Tensor partial = Tensor::empty(Shape{static_cast<int64_t>(blocks * sizeof(Welford))}, DType::UInt8, current());
  Welford* p = static_cast<Welford*>(partial.raw_data());
  bn_stats_kernel<T><<<blocks, kThreads, 0, kiln::cuda::stream()>>>(s, splits, x, p);
  KILN_LAUNCH_CHECK();
  bn_normalize_kernel<T><<<blocks, kThreads, 0, kiln::cuda::stream()>>>(s, splits, x, gamma, beta, eps, momentum, p, y,
                                                                       save_mean, save_invstd, running_mean,
                                                                       running_var);
  KILN_LAUNCH_CHECK();
}

template <typename T>
void batchnorm_forward_eval(const BatchNormShape& s, const T* x, const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, double eps, T* y) {
  const int64_t total = s.n * s.c * s.hw;
  if (total == 0) return;
  bn_eval_kernel<T><<<kiln::cuda::grid_for(total, kThreads), kThreads, 0, kiln::cuda::stream()>>>(
      s, x, gamma, beta, running_mean, running_var, eps, y);
  KILN_LAUNCH_CHECK();
}

template <typename T>
void batchnorm_backward(const BatchNormShape& s, const T* dy, const T* x, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta) {
  if (s.c == 0) return;
  const int splits = choose_splits(s);
  const unsigned blocks = static_cast<unsigned>(s.c * splits);
  Tensor partial = Tensor::empty(Shape{static_cast<int64_t>(blocks * sizeof(DySums))}, DType::UInt8, current());
  DySums* p = static_cast<DySums*>(partial.raw_data());
  bn_backward_sums_kernel<T><<<blocks, kThreads, 0, kiln::cuda::stream()>>>(s, splits, dy, x, save_mean, save_invstd, p);
  KILN_LAUNCH_CHECK();
  bn_backward_dx_kernel<T><<<blocks, kThreads, 0, kiln::cuda::stream()>>>(s, splits, dy, x, gamma, save_mean,
                                                                         save_invstd, p, dx, dgamma, dbeta);
  KILN_LAUNCH_CHECK();
}

#define KILN_INSTANTIATE(T)                                                                                       \
  template void batchnorm_forward_train<T>(const BatchNormShape&, const T*, const T*, const T*, double, double, T*, \
                                           T*, T*, T*, T*);                                                       \
  template void batchnorm_forward_eval<T>(const BatchNormShape&, const T*, const T*, const T*, const T*, const T*,  \
                                          double, T*);                                                            \
  template void batchnorm_backward<T>(const BatchNormShape&, const T*, const T*, const T*, const T*, const T*, T*,  \
                                      T*, T*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cuda
