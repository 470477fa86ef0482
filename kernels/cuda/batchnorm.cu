// CUDA batch normalisation (contract: kernels/batchnorm.h; arithmetic: kernels/batchnorm_math.h).
// Training forward is two launches over a (channel, split) grid: (1) each block reduces its
// slice of one channel: per-thread shifted sums in double, turned into (count, mean, M2) and
// merged by Chan's formula in a fixed tree, writing one partial; (2) each block merges its
// channel's partials in split order (so every block of a channel computes identical
// statistics), normalises its slice, and block 0 of the channel writes the saved and running
// statistics. Backward has the same shape with partial sums of dy and dy*xhat, also in double.
// Eval mode computes each channel's constants once, then one elementwise pass. x is read twice
// forward and twice backward; there are no atomics, so results are deterministic.
#include <cuda_runtime.h>

#include "core/cuda_context.h"
#include "kernels/batchnorm.h"
#include "kernels/batchnorm_math.h"
#include "kernels/fast_divmod.h"
#include "kernels/scratch.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

struct SplitRange {
  int64_t begin, end;
};

__device__ SplitRange split_range(int64_t m, int splits, int split) {
  const int64_t chunk = (m + splits - 1) / splits;
  const int64_t b = split * chunk;
  return {b, b + chunk < m ? b + chunk : m};
}

// Element j of channel c in the flattened [n, hw] order: j = n*hw + i. Walking j in a
// grid-stride loop, the (n, i) pair advances by a constant stride, so it is carried along
// instead of divided out for every element.
struct ChannelCursor {
  int64_t n, i;             // current image, and offset inside the channel's plane of it
  int64_t step_n, step_i;   // the stride split the same way (step_i < hw)
  int64_t hw, plane, base;  // plane = C*hw is the distance between images; base = c*hw

  __device__ ChannelCursor(int64_t j, int64_t stride, int64_t hw_, int64_t c, int64_t C)
      : n(j / hw_),
        i(j - (j / hw_) * hw_),
        step_n(stride / hw_),
        step_i(stride - (stride / hw_) * hw_),
        hw(hw_),
        plane(C * hw_),
        base(c * hw_) {}
  __device__ int64_t offset() const { return base + n * plane + i; }
  __device__ void advance() {
    n += step_n;
    i += step_i;
    if (i >= hw) {
      i -= hw;
      ++n;
    }
  }
};

// The channel's shift for the shifted sums: its first element, read by every block of it.
template <typename T>
__device__ double channel_shift(const T* x, int64_t c, int64_t hw) {
  return static_cast<double>(x[c * hw]);
}

template <typename T>
__global__ void bn_stats_kernel(BatchNormShape s, int splits, const T* x, bn::Moments* partial) {
  const int64_t c = blockIdx.x / splits;
  const int split = blockIdx.x % splits;
  const SplitRange r = split_range(s.n * s.hw, splits, split);
  const double shift = channel_shift(x, c, s.hw);
  bn::ShiftedSums sums;
  int64_t j = r.begin + threadIdx.x;
  if (j < r.end) {
    ChannelCursor at(j, blockDim.x, s.hw, c, s.c);
    for (; j < r.end; j += blockDim.x, at.advance()) sums.add(static_cast<double>(x[at.offset()]), shift);
  }
  __shared__ bn::Moments sm[kThreads];
  sm[threadIdx.x] = sums.moments(shift);
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step >>= 1) {
    if (threadIdx.x < step) bn::merge(sm[threadIdx.x], sm[threadIdx.x + step]);
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = sm[0];
}

// Merges the `splits` partials of channel c in order (identical in every block).
__device__ bn::Moments merge_channel(const bn::Moments* partial, int64_t c, int splits) {
  bn::Moments w;
  for (int i = 0; i < splits; ++i) bn::merge(w, partial[c * splits + i]);
  return w;
}

// Float data is normalised in float (with the mean split in two, batchnorm_math.h); double in
// double.
template <typename T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};

template <typename T>
__global__ void bn_normalize_kernel(BatchNormShape s, int splits, const T* x, const T* gamma, const T* beta,
                                    double eps, double momentum, const bn::Moments* partial, T* y,
                                    T* save_mean, T* save_invstd, T* running_mean, T* running_var) {
  const int64_t c = blockIdx.x / splits;
  const int split = blockIdx.x % splits;
  __shared__ double sh_mean, sh_invstd;
  if (threadIdx.x == 0) {
    const bn::Moments w = merge_channel(partial, c, splits);
    const double var = w.m2 / w.count;
    sh_mean = w.mean;
    sh_invstd = 1.0 / sqrt(var + eps);
    if (split == 0) {
      save_mean[c] = static_cast<T>(w.mean);
      save_invstd[c] = static_cast<T>(sh_invstd);
      if (running_mean)
        running_mean[c] =
            static_cast<T>((1 - momentum) * static_cast<double>(running_mean[c]) + momentum * w.mean);
      if (running_var) {
        const double unbiased = w.count > 1 ? w.m2 / (w.count - 1) : var;
        running_var[c] =
            static_cast<T>((1 - momentum) * static_cast<double>(running_var[c]) + momentum * unbiased);
      }
    }
  }
  __syncthreads();
  using A = typename AccOf<T>::type;
  const double g = gamma ? static_cast<double>(gamma[c]) : 1.0;
  // (x - mean) * scale + b, as the CPU and PyTorch: folding the mean into a shift (x*scale +
  // (b - mean*scale)) would add the rounding of mean*scale to every output, a large error
  // when |mean| / std is large.
  const A scale = static_cast<A>(sh_invstd * g);
  const A b = beta ? static_cast<A>(beta[c]) : A(0);
  const bn::SplitValue<A> mean = bn::split<A>(sh_mean);
  const SplitRange r = split_range(s.n * s.hw, splits, split);
  int64_t j = r.begin + threadIdx.x;
  if (j >= r.end) return;
  ChannelCursor at(j, blockDim.x, s.hw, c, s.c);
  for (; j < r.end; j += blockDim.x, at.advance()) {
    const int64_t e = at.offset();
    y[e] = static_cast<T>(bn::normalize<A>(static_cast<A>(x[e]), mean, scale, b));
  }
}

template <typename T>
__global__ void bn_eval_channels_kernel(int64_t channels, const T* gamma, const T* beta,
                                        const T* running_mean, const T* running_var, double eps,
                                        bn::EvalChannel<typename AccOf<T>::type>* out) {
  using A = typename AccOf<T>::type;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  out[c] = bn::eval_channel<A>(static_cast<double>(running_mean[c]), static_cast<double>(running_var[c]),
                               gamma ? static_cast<double>(gamma[c]) : 1.0,
                               beta ? static_cast<double>(beta[c]) : 0.0, eps);
}

// One thread per element; n*C planes of hw elements each. Indices are 32-bit when the tensor
// allows (the common case), so the channel of an element costs two multiply-shifts.
template <typename T, typename Index>
__global__ void bn_eval_kernel(Index total, int64_t hw, int64_t channel_count, FastDivmod div_hw,
                               FastDivmod div_c, const T* x,
                               const bn::EvalChannel<typename AccOf<T>::type>* channels, T* y) {
  using A = typename AccOf<T>::type;
  const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index e = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    Index c;
    if constexpr (sizeof(Index) == 4) {
      c = div_c.mod(div_hw.div(e));
    } else {
      c = (e / hw) % channel_count;  // tensors of 2^31 elements or more
    }
    const bn::EvalChannel<A> k = channels[c];
    y[e] = static_cast<T>(bn::normalize<A>(static_cast<A>(x[e]), k.mean, k.scale, k.shift));
  }
}

struct DySums {
  double dy, dy_xhat;
};

template <typename T>
__global__ void bn_backward_sums_kernel(BatchNormShape s, int splits, const T* dy, const T* x,
                                        const T* save_mean, const T* save_invstd, DySums* partial) {
  using A = typename AccOf<T>::type;
  const int64_t c = blockIdx.x / splits;
  const int split = blockIdx.x % splits;
  // x - mean is exact in float for x near the (float) saved mean, as in the CPU reference;
  // the sums are accumulated in double like the forward statistics.
  const A mean = static_cast<A>(save_mean[c]), invstd = static_cast<A>(save_invstd[c]);
  const SplitRange r = split_range(s.n * s.hw, splits, split);
  double sdy = 0, sdyx = 0;
  int64_t j = r.begin + threadIdx.x;
  if (j < r.end) {
    ChannelCursor at(j, blockDim.x, s.hw, c, s.c);
    for (; j < r.end; j += blockDim.x, at.advance()) {
      const int64_t e = at.offset();
      const A g = static_cast<A>(dy[e]);
      sdy += static_cast<double>(g);
      sdyx += static_cast<double>(g * ((static_cast<A>(x[e]) - mean) * invstd));
    }
  }
  __shared__ double a[kThreads], b[kThreads];
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
  if (threadIdx.x == 0) partial[blockIdx.x] = DySums{a[0], b[0]};
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
  const A k =
      static_cast<A>((gamma ? static_cast<double>(gamma[c]) : 1.0) * static_cast<double>(save_invstd[c]) / M);
  const A mdy = static_cast<A>(sh_dy), sdyx = static_cast<A>(sh_dyx), m = static_cast<A>(M);
  const SplitRange r = split_range(s.n * s.hw, splits, split);
  int64_t j = r.begin + threadIdx.x;
  if (j >= r.end) return;
  ChannelCursor at(j, blockDim.x, s.hw, c, s.c);
  for (; j < r.end; j += blockDim.x, at.advance()) {
    const int64_t e = at.offset();
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
                             double momentum, T* y, T* save_mean, T* save_invstd, T* running_mean,
                             T* running_var) {
  if (s.c == 0) return;
  const int splits = choose_splits(s);
  const unsigned blocks = static_cast<unsigned>(s.c * splits);
  Scratch<bn::Moments> partial(current(), blocks);
  bn::Moments* p = partial.data();
  kiln::cuda::launch(bn_stats_kernel<T>, {blocks, kThreads}, s, splits, x, p);
  kiln::cuda::launch(bn_normalize_kernel<T>, {blocks, kThreads}, s, splits, x, gamma, beta, eps, momentum, p,
                     y, save_mean, save_invstd, running_mean, running_var);
}

template <typename T>
void batchnorm_forward_eval(const BatchNormShape& s, const T* x, const T* gamma, const T* beta,
                            const T* running_mean, const T* running_var, double eps, T* y) {
  const int64_t total = s.n * s.c * s.hw;
  if (total == 0) return;
  using Channel = bn::EvalChannel<typename AccOf<T>::type>;
  Scratch<Channel> scratch(current(), s.c);
  Channel* channels = scratch.data();
  kiln::cuda::launch(bn_eval_channels_kernel<T>, {kiln::cuda::grid_for(s.c, kThreads), kThreads}, s.c, gamma,
                     beta, running_mean, running_var, eps, channels);
  const unsigned grid = kiln::cuda::grid_for(total, kThreads);
  if (total < FastDivmod::kLimit) {
    bn_eval_kernel<T, uint32_t><<<grid, kThreads, 0, kiln::cuda::stream()>>>(
        static_cast<uint32_t>(total), s.hw, s.c, FastDivmod(s.hw), FastDivmod(s.c), x, channels, y);
  } else {
    bn_eval_kernel<T, int64_t><<<grid, kThreads, 0, kiln::cuda::stream()>>>(total, s.hw, s.c, FastDivmod(),
                                                                            FastDivmod(), x, channels, y);
  }
  KILN_LAUNCH_CHECK();
}

template <typename T>
void batchnorm_backward(const BatchNormShape& s, const T* dy, const T* x, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta) {
  if (s.c == 0) return;
  const int splits = choose_splits(s);
  const unsigned blocks = static_cast<unsigned>(s.c * splits);
  Scratch<DySums> partial(current(), blocks);
  DySums* p = partial.data();
  kiln::cuda::launch(bn_backward_sums_kernel<T>, {blocks, kThreads}, s, splits, dy, x, save_mean, save_invstd,
                     p);
  kiln::cuda::launch(bn_backward_dx_kernel<T>, {blocks, kThreads}, s, splits, dy, x, gamma, save_mean,
                     save_invstd, p, dx, dgamma, dbeta);
}

#define KILN_INSTANTIATE(T)                                                                              \
  template void batchnorm_forward_train<T>(const BatchNormShape&, const T*, const T*, const T*, double,  \
                                           double, T*, T*, T*, T*, T*);                                  \
  template void batchnorm_forward_eval<T>(const BatchNormShape&, const T*, const T*, const T*, const T*, \
                                          const T*, double, T*);                                         \
  template void batchnorm_backward<T>(const BatchNormShape&, const T*, const T*, const T*, const T*,     \
                                      const T*, T*, T*, T*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cuda
