// CUDA convolution (contract: kernels/conv2d.h): kiln's own implicit-GEMM kernels, no cuDNN
// and no cuBLAS. Each of the three passes is a GEMM whose operands are gathered from the
// NCHW tensors on the fly, never materialised:
//   forward          M = N*P*Q (output pixels)   N = K (out channels)   K = C*R*S
//   backward_input   M = N*H*W (input pixels)    N = C                  K = K*R*S
//   backward_weight  M = K                       N = C*R*S              K = N*P*Q
// One kernel template runs all three: a 128-thread block computes a 64x64 tile of C in
// 16-deep K steps, staging A and B tiles through double-buffered shared memory with the next
// tile's global loads in flight during the current tile's math. The math is either TF32
// tensor-core MMA (mma.sync m16n8k8, operands rounded to TF32 once when written to shared
// memory, fp32 accumulation) or exact FP32 FMAs with the same data flow. When the output
// tiles alone cannot fill the GPU (small spatial maps, the weight gradient) the K range is
// split across blocks; partial tiles go to a workspace and a second kernel sums them in a
// fixed order, so results stay deterministic.
#include <cuda_runtime.h>

#include <algorithm>

#include "core/cuda_context.h"
#include "core/tensor.h"
#include "kernels/conv2d.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16;
constexpr int kThreads = 128;
constexpr int kPad = 8;  // row padding that makes the fragment reads bank-conflict free
constexpr int kLoads = kBM * kBK / kThreads;  // elements of A (and of B) each thread stages per tile

// ---- the three problems -------------------------------------------------------------------

struct Geometry {
  int64_t n, c, h, w, k, r, s, sh, sw, ph, pw, p, q;
};

Geometry geometry(const Conv2dShape& sh) {
  return {sh.n, sh.c, sh.h, sh.w, sh.k, sh.r, sh.s, sh.stride_h, sh.stride_w, sh.pad_h, sh.pad_w, sh.p(), sh.q()};
}

// Forward: A[m][k] = x at output pixel m = (n, p, q), tap k = (c, r, s); B[k][n] = w[n][k].
struct ForwardOp {
  Geometry g;
  const float* x;
  const float* w;
  const float* bias;
  float* y;
  int64_t M, N, K;
  static constexpr bool kAContiguousInM = true;

  __device__ float a(int64_t m, int64_t k) const {
    const int64_t pq = g.p * g.q;
    const int64_t nb = m / pq, rem = m - nb * pq, p = rem / g.q, q = rem - p * g.q;
    const int64_t rs = g.r * g.s;
    const int64_t c = k / rs, krem = k - c * rs, r = krem / g.s, s = krem - r * g.s;
    const int64_t ih = p * g.sh - g.ph + r, iw = q * g.sw - g.pw + s;
    if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return 0.f;
    return x[((nb * g.c + c) * g.h + ih) * g.w + iw];
  }
  __device__ float b(int64_t k, int64_t n) const { return w[n * K + k]; }
  __device__ void store(int64_t m, int64_t n, float v) const {
    const int64_t pq = g.p * g.q;
    const int64_t nb = m / pq, rem = m - nb * pq;
    y[(nb * g.k + n) * pq + rem] = v + (bias ? bias[n] : 0.f);
  }
};

// Input gradient: A[m][k] = dy at the output pixel that tap k = (ko, r, s) of input pixel
// m = (n, h, w) came from (0 when no output pixel maps there); B[k][n] = w[ko][n][r][s].
struct BackwardInputOp {
  Geometry g;
  const float* dy;
  const float* w;
  float* dx;
  int64_t M, N, K;
  static constexpr bool kAContiguousInM = true;

  __device__ float a(int64_t m, int64_t k) const {
    const int64_t hw = g.h * g.w;
    const int64_t nb = m / hw, rem = m - nb * hw, ih = rem / g.w, iw = rem - ih * g.w;
    const int64_t rs = g.r * g.s;
    const int64_t ko = k / rs, krem = k - ko * rs, r = krem / g.s, s = krem - r * g.s;
    const int64_t th = ih + g.ph - r, tw = iw + g.pw - s;
    if (th < 0 || tw < 0 || th % g.sh != 0 || tw % g.sw != 0) return 0.f;
    const int64_t p = th / g.sh, q = tw / g.sw;
    if (p >= g.p || q >= g.q) return 0.f;
    return dy[((nb * g.k + ko) * g.p + p) * g.q + q];
  }
  __device__ float b(int64_t k, int64_t n) const {
    const int64_t rs = g.r * g.s;
    const int64_t ko = k / rs, krem = k - ko * rs;
    return w[(ko * g.c + n) * rs + krem];
  }
  __device__ void store(int64_t m, int64_t n, float v) const {
    const int64_t hw = g.h * g.w;
    const int64_t nb = m / hw, rem = m - nb * hw;
    dx[(nb * g.c + n) * hw + rem] = v;
  }
};

// Weight gradient: A[m][k] = dy[n][m][p][q] for k = (n, p, q); B[k][n] = x at tap n = (c, r, s)
// of output pixel k.
struct BackwardWeightOp {
  Geometry g;
  const float* x;
  const float* dy;
  float* dw;
  int64_t M, N, K;
  static constexpr bool kAContiguousInM = false;

  __device__ float a(int64_t m, int64_t k) const {
    const int64_t pq = g.p * g.q;
    const int64_t nb = k / pq, rem = k - nb * pq;
    return dy[(nb * g.k + m) * pq + rem];
  }
  __device__ float b(int64_t k, int64_t n) const {
    const int64_t pq = g.p * g.q;
    const int64_t nb = k / pq, rem = k - nb * pq, p = rem / g.q, q = rem - p * g.q;
    const int64_t rs = g.r * g.s;
    const int64_t c = n / rs, nrem = n - c * rs, r = nrem / g.s, s = nrem - r * g.s;
    const int64_t ih = p * g.sh - g.ph + r, iw = q * g.sw - g.pw + s;
    if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return 0.f;
    return x[((nb * g.c + c) * g.h + ih) * g.w + iw];
  }
  __device__ void store(int64_t m, int64_t n, float v) const { dw[m * N + n] = v; }
};

// ---- tensor-core helpers --------------------------------------------------------------------

__device__ __forceinline__ float round_to_tf32(float f) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(f));
  return __uint_as_float(r);
}

__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// ---- the implicit-GEMM kernel ---------------------------------------------------------------

// Which (row, col) of the A / B tile thread t stages in slot i. A is staged along m when
// consecutive m are consecutive in memory (coalesced), otherwise along k; B always along k.
template <bool kAlongM>
__device__ __forceinline__ void a_slot(int t, int i, int& m, int& k) {
  if (kAlongM) {
    m = t % kBM;
    k = t / kBM + (kThreads / kBM) * i;
  } else {
    k = t % kBK;
    m = t / kBK + (kThreads / kBK) * i;
  }
}
__device__ __forceinline__ void b_slot(int t, int i, int& k, int& n) {
  k = t % kBK;
  n = t / kBK + (kThreads / kBK) * i;
}

template <class Op, bool kTF32>
__global__ void __launch_bounds__(kThreads) implicit_gemm_kernel(const Op op, int64_t k_per_split, float* partial) {
  __shared__ float As[2][kBK][kBM + kPad];
  __shared__ float Bs[2][kBK][kBN + kPad];

  const int t = threadIdx.x;
  const int lane = t & 31, warp = t >> 5;
  const int g = lane >> 2, tig = lane & 3;  // groupID, threadID_in_group of the mma layout
  const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;  // this warp's 32x32 sub-tile
  const int64_t m0 = static_cast<int64_t>(blockIdx.x) * kBM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.y) * kBN;
  const int64_t k_begin = static_cast<int64_t>(blockIdx.z) * k_per_split;
  const int64_t k_end = min(op.K, k_begin + k_per_split);

  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.f;

  float ra[kLoads], rb[kLoads];
  auto load_tile = [&](int64_t k0) {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      int m, k;
      a_slot<Op::kAContiguousInM>(t, i, m, k);
      const int64_t gm = m0 + m, gk = k0 + k;
      ra[i] = (gm < op.M && gk < k_end) ? op.a(gm, gk) : 0.f;
      int kb, n;
      b_slot(t, i, kb, n);
      const int64_t gkb = k0 + kb, gn = n0 + n;
      rb[i] = (gn < op.N && gkb < k_end) ? op.b(gkb, gn) : 0.f;
    }
  };
  auto store_tile = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      int m, k;
      a_slot<Op::kAContiguousInM>(t, i, m, k);
      As[buf][k][m] = kTF32 ? round_to_tf32(ra[i]) : ra[i];
      int kb, n;
      b_slot(t, i, kb, n);
      Bs[buf][kb][n] = kTF32 ? round_to_tf32(rb[i]) : rb[i];
    }
  };

  if (k_begin < k_end) {
    load_tile(k_begin);
    store_tile(0);
  }
  __syncthreads();

  int buf = 0;
  for (int64_t k0 = k_begin; k0 < k_end; k0 += kBK) {
    const bool more = k0 + kBK < k_end;
    if (more) load_tile(k0 + kBK);  // global loads overlap the math below

    if constexpr (kTF32) {
#pragma unroll
      for (int kk = 0; kk < kBK; kk += 8) {
        uint32_t af[2][4], bf[4][2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          const int row = wm + i * 16 + g;
          af[i][0] = __float_as_uint(As[buf][kk + tig][row]);
          af[i][1] = __float_as_uint(As[buf][kk + tig][row + 8]);
          af[i][2] = __float_as_uint(As[buf][kk + tig + 4][row]);
          af[i][3] = __float_as_uint(As[buf][kk + tig + 4][row + 8]);
        }
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int col = wn + j * 8 + g;
          bf[j][0] = __float_as_uint(Bs[buf][kk + tig][col]);
          bf[j][1] = __float_as_uint(Bs[buf][kk + tig + 4][col]);
        }
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) mma_tf32(acc[i][j], af[i], bf[j]);
      }
    } else {
      // Exact FP32: the same accumulator ownership as the mma layout, computed with FMAs.
#pragma unroll 4
      for (int kk = 0; kk < kBK; ++kk) {
        float av[2][2], bv[4][2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          av[i][0] = As[buf][kk][wm + i * 16 + g];
          av[i][1] = As[buf][kk][wm + i * 16 + g + 8];
        }
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          bv[j][0] = Bs[buf][kk][wn + j * 8 + 2 * tig];
          bv[j][1] = Bs[buf][kk][wn + j * 8 + 2 * tig + 1];
        }
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            acc[i][j][0] = fmaf(av[i][0], bv[j][0], acc[i][j][0]);
            acc[i][j][1] = fmaf(av[i][0], bv[j][1], acc[i][j][1]);
            acc[i][j][2] = fmaf(av[i][1], bv[j][0], acc[i][j][2]);
            acc[i][j][3] = fmaf(av[i][1], bv[j][1], acc[i][j][3]);
          }
      }
    }

    if (more) store_tile(buf ^ 1);
    __syncthreads();
    buf ^= 1;
  }

  // Epilogue: accumulator r of tile (i, j) holds C[row][col] with row = g (+8 for r >= 2),
  // col = 2*tig (+1 for odd r), as the mma.m16n8 C layout defines.
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int64_t m = m0 + wm + i * 16 + g + (r >= 2 ? 8 : 0);
        const int64_t n = n0 + wn + j * 8 + 2 * tig + (r & 1);
        if (m >= op.M || n >= op.N) continue;
        if (partial) partial[(static_cast<int64_t>(blockIdx.z) * op.M + m) * op.N + n] = acc[i][j][r];
        else op.store(m, n, acc[i][j][r]);
      }
}

// Sums the split-K partials in split order and hands each element to the op's epilogue.
template <class Op>
__global__ void reduce_splits_kernel(const Op op, int splits, const float* partial) {
  const int64_t total = op.M * op.N;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    float v = 0.f;
    for (int s = 0; s < splits; ++s) v += partial[s * total + e];
    op.store(e / op.N, e % op.N, v);
  }
}

// dbias[k] = sum of dy[n][k][:] over n and pixels; one block per channel, fixed tree order.
__global__ void bias_grad_kernel(int64_t n, int64_t k, int64_t pq, const float* dy, float* dbias) {
  __shared__ float s[256];
  float acc = 0.f;
  const int64_t total = n * pq;
  for (int64_t j = threadIdx.x; j < total; j += blockDim.x) {
    const int64_t nb = j / pq;
    acc += dy[(nb * k + blockIdx.x) * pq + (j - nb * pq)];
  }
  s[threadIdx.x] = acc;
  __syncthreads();
  for (int step = 128; step > 0; step >>= 1) {
    if (threadIdx.x < step) s[threadIdx.x] += s[threadIdx.x + step];
    __syncthreads();
  }
  if (threadIdx.x == 0) dbias[blockIdx.x] = s[0];
}

int sm_count() {
  static const int count = [] {
    int dev = kiln::cuda::current_device(), n = 0;
    KILN_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return n;
  }();
  return count;
}

template <class Op>
void run_gemm(const Op& op, ConvPrecision precision) {
  if (op.M == 0 || op.N == 0) return;
  cudaStream_t stream = kiln::cuda::stream();
  if (op.K == 0) {
    // Nothing to reduce (an empty batch for the weight gradient, or no input channels): the
    // result is the epilogue of zero, e.g. the bias alone.
    reduce_splits_kernel<Op><<<kiln::cuda::grid_for(op.M * op.N, 256), 256, 0, stream>>>(op, 0, nullptr);
    KILN_LAUNCH_CHECK();
    return;
  }
  const int64_t tiles_m = (op.M + kBM - 1) / kBM, tiles_n = (op.N + kBN - 1) / kBN;
  KILN_CHECK(tiles_m < (int64_t(1) << 31) && tiles_n < 65536, "conv2d: problem too large for the CUDA grid (", op.M,
             " x ", op.N, ")");
  // Split K until there are about two blocks per SM, keeping at least 4 K-steps per split.
  const int64_t tiles = tiles_m * tiles_n;
  const int64_t k_steps = (op.K + kBK - 1) / kBK;
  int64_t splits = 1;
  const int64_t want = 2 * static_cast<int64_t>(sm_count());
  if (tiles < want) splits = std::min<int64_t>({(want + tiles - 1) / tiles, std::max<int64_t>(k_steps / 4, 1), 64});
  const int64_t k_per_split = ((k_steps + splits - 1) / splits) * kBK;
  splits = std::max<int64_t>(1, (op.K + k_per_split - 1) / k_per_split);
  const dim3 grid(static_cast<unsigned>(tiles_m), static_cast<unsigned>(tiles_n), static_cast<unsigned>(splits));
  Tensor workspace;
  float* partial = nullptr;
  if (splits > 1) {
    workspace = Tensor::empty(Shape{static_cast<int64_t>(splits * op.M * op.N)}, DType::Float32, Device::cuda(kiln::cuda::current_device()));
    partial = workspace.data<float>();
  }
  if (precision == ConvPrecision::TF32)
    implicit_gemm_kernel<Op, true><<<grid, kThreads, 0, stream>>>(op, k_per_split, partial);
  else
    implicit_gemm_kernel<Op, false><<<grid, kThreads, 0, stream>>>(op, k_per_split, partial);
  KILN_LAUNCH_CHECK();
  if (splits > 1) {
    reduce_splits_kernel<Op><<<kiln::cuda::grid_for(op.M * op.N, 256), 256, 0, stream>>>(op, static_cast<int>(splits),
                                                                                         partial);
    KILN_LAUNCH_CHECK();
  }
}

}  // namespace

void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight, const float* bias, float* y,
                    ConvPrecision precision) {
  const Geometry g = geometry(shape);
  ForwardOp op{g, x, weight, bias, y, g.n * g.p * g.q, g.k, g.c * g.r * g.s};
  run_gemm(op, precision);
}

void conv2d_backward_input(const Conv2dShape& shape, const float* dy, const float* weight, float* dx,
                           ConvPrecision precision) {
  const Geometry g = geometry(shape);
  BackwardInputOp op{g, dy, weight, dx, g.n * g.h * g.w, g.c, g.k * g.r * g.s};
  run_gemm(op, precision);
}

void conv2d_backward_weight(const Conv2dShape& shape, const float* x, const float* dy, float* dweight, float* dbias,
                            ConvPrecision precision) {
  const Geometry g = geometry(shape);
  BackwardWeightOp op{g, x, dy, dweight, g.k, g.c * g.r * g.s, g.n * g.p * g.q};
  run_gemm(op, precision);
  if (dbias && g.k > 0) {
    bias_grad_kernel<<<static_cast<unsigned>(g.k), 256, 0, kiln::cuda::stream()>>>(g.n, g.k, g.p * g.q, dy, dbias);
    KILN_LAUNCH_CHECK();
  }
}

}  // namespace kiln::kernels::cuda
