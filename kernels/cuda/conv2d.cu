// CUDA convolution (contract: kernels/conv2d.h): kiln's own implicit-GEMM kernels, no cuDNN
// and no cuBLAS. Each of the three passes is a GEMM whose operands are gathered from the
// NCHW tensors on the fly, never materialised:
//   forward          M = N*P*Q (output pixels)   N = K (out channels)   K = C*R*S
//   backward_input   M = N*H*W (input pixels)    N = C                  K = K*R*S
//   backward_weight  M = K                       N = C*R*S              K = N*P*Q
// (the operand gathers are in kernels/conv2d_gemm_ops.h). One kernel template runs all three:
// a 128-thread block computes a 64x64 tile of C in
// 16-deep K steps, staging A and B tiles through double-buffered shared memory with the next
// tile's global loads in flight during the current tile's math. The math is either TF32
// tensor-core MMA (mma.sync m16n8k8, operands rounded to TF32 once when written to shared
// memory, fp32 accumulation) or exact FP32 FMAs with the same data flow. When the output
// tiles alone cannot fill the GPU (small spatial maps, the weight gradient) the K range is
// split across blocks; partial tiles go to a workspace and a second kernel sums them in a
// fixed order, so results stay deterministic.
#include <cuda_runtime.h>

#include <algorithm>
#include <optional>

#include "core/cuda_context.h"
#include "core/error.h"
#include "kernels/conv2d.h"
#include "kernels/conv2d_gemm_ops.h"
#include "kernels/scratch.h"

namespace kiln::kernels::cuda {

namespace {

using conv_gemm::BackwardInputOp;
using conv_gemm::BackwardWeightOp;
using conv_gemm::ForwardOp;

constexpr int kBM = 64, kBN = 64, kBK = 16;
constexpr int kThreads = 128;
constexpr int kPad = 8;                       // row padding that makes the fragment reads bank-conflict free
constexpr int kLoads = kBM * kBK / kThreads;  // elements of A (and of B) each thread stages per tile

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
__global__ void __launch_bounds__(kThreads)
    implicit_gemm_kernel(const Op op, uint32_t k_per_split, float* partial) {
  __shared__ float As[2][kBK][kBM + kPad];
  __shared__ float Bs[2][kBK][kBN + kPad];
  constexpr bool kAlongM = Op::kAContiguousInM;

  const int t = threadIdx.x;
  const int lane = t & 31, warp = t >> 5;
  const int g = lane >> 2, tig = lane & 3;                // groupID, threadID_in_group of the mma layout
  const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;  // this warp's 32x32 sub-tile
  // M, N, K < 2^31 (checked on the host), so 32-bit indices hold every m, n and k.
  const uint32_t M = static_cast<uint32_t>(op.M), N = static_cast<uint32_t>(op.N);
  const uint32_t m0 = blockIdx.x * kBM;
  const uint32_t n0 = blockIdx.y * kBN;
  const uint32_t k_begin = blockIdx.z * k_per_split;
  const uint32_t k_end = min(static_cast<uint32_t>(op.K), k_begin + k_per_split);

  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.f;

  // The rows of A and columns of B this thread stages never change during the K loop, so
  // their index math (the image, the window corner) is done once here. Staged along m, a
  // thread owns one row of A in every slot; staged along k, one row per slot. Rows and columns
  // past the matrix edge get a context computed from row 0 and are masked at load time.
  constexpr int kARows = kAlongM ? 1 : kLoads;
  typename Op::Row a_rows[kARows];
  bool a_row_ok[kARows];
#pragma unroll
  for (int i = 0; i < kARows; ++i) {
    int m, k;
    a_slot<kAlongM>(t, i, m, k);
    a_row_ok[i] = m0 + m < M;
    a_rows[i] = op.a_row(a_row_ok[i] ? m0 + m : 0);
  }
  typename Op::Col b_cols[kLoads];
  bool b_col_ok[kLoads];
#pragma unroll
  for (int i = 0; i < kLoads; ++i) {
    int k, n;
    b_slot(t, i, k, n);
    b_col_ok[i] = n0 + n < N;
    b_cols[i] = op.b_col(b_col_ok[i] ? n0 + n : 0);
  }

  float ra[kLoads], rb[kLoads];
  auto load_tile = [&](uint32_t k0) {
    if constexpr (kAlongM) {
      // One row, a different k in every slot: the tap is decomposed per slot.
#pragma unroll
      for (int i = 0; i < kLoads; ++i) {
        int m, k;
        a_slot<kAlongM>(t, i, m, k);
        const uint32_t gk = k0 + k;
        ra[i] = (a_row_ok[0] && gk < k_end) ? op.a(a_rows[0], op.a_tap(gk)) : 0.f;
      }
    } else {
      // The same k in every slot: one tap for all of this thread's rows.
      int m, k;
      a_slot<kAlongM>(t, 0, m, k);
      const uint32_t gk = k0 + k;
      const bool k_ok = gk < k_end;
      const typename Op::Tap tap = op.a_tap(k_ok ? gk : k_begin);
#pragma unroll
      for (int i = 0; i < kLoads; ++i) ra[i] = (a_row_ok[i] && k_ok) ? op.a(a_rows[i], tap) : 0.f;
    }
    // B is staged along k: every slot of this thread shares one k.
    int kb, n;
    b_slot(t, 0, kb, n);
    const uint32_t gkb = k0 + kb;
    const bool kb_ok = gkb < k_end;
    const typename Op::BTap btap = op.b_tap(kb_ok ? gkb : k_begin);
#pragma unroll
    for (int i = 0; i < kLoads; ++i) rb[i] = (b_col_ok[i] && kb_ok) ? op.b(b_cols[i], btap) : 0.f;
  };
  auto store_tile = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      int m, k;
      a_slot<kAlongM>(t, i, m, k);
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
  for (uint32_t k0 = k_begin; k0 < k_end; k0 += kBK) {
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
        const uint32_t m = m0 + wm + i * 16 + g + (r >= 2 ? 8 : 0);
        const uint32_t n = n0 + wn + j * 8 + 2 * tig + (r & 1);
        if (m >= M || n >= N) continue;
        if (partial)
          partial[(static_cast<int64_t>(blockIdx.z) * M + m) * N + n] = acc[i][j][r];
        else
          op.store(m, n, acc[i][j][r]);
      }
}

// Sums the split-K partials in split order and hands each element to the op's epilogue.
// M*N < 2^31 (checked on the host), so the element index and its (m, n) stay 32-bit.
template <class Op>
__global__ void reduce_splits_kernel(const Op op, FastDivmod div_n, int splits, const float* partial) {
  const uint32_t total = static_cast<uint32_t>(op.M * op.N);
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
    float v = 0.f;
    for (int s = 0; s < splits; ++s) v += partial[static_cast<int64_t>(s) * total + e];
    uint32_t m, n;
    div_n.divmod(e, m, n);
    op.store(m, n, v);
  }
}

// dbias[k] = sum of dy[n][k][:] over n and pixels; one block per channel, fixed tree order.
// n*pq < 2^31 (checked on the host).
__global__ void bias_grad_kernel(uint32_t n, uint32_t k, FastDivmod div_pq, const float* dy, float* dbias) {
  __shared__ float s[256];
  float acc = 0.f;
  const uint32_t pq = div_pq.divisor(), total = n * pq;
  for (uint32_t j = threadIdx.x; j < total; j += blockDim.x) {
    uint32_t nb, rem;
    div_pq.divmod(j, nb, rem);
    acc += dy[(static_cast<int64_t>(nb) * k + blockIdx.x) * pq + rem];
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
    KILN_CHECK(op.M * op.N < FastDivmod::kLimit, "conv2d: output too large for an empty reduction (", op.M,
               " x ", op.N, ")");
    reduce_splits_kernel<Op>
        <<<kiln::cuda::grid_for(op.M * op.N, 256), 256, 0, stream>>>(op, FastDivmod(op.N), 0, nullptr);
    KILN_LAUNCH_CHECK();
    return;
  }
  const int64_t tiles_m = (op.M + kBM - 1) / kBM, tiles_n = (op.N + kBN - 1) / kBN;
  KILN_CHECK(tiles_m < (int64_t(1) << 31) && tiles_n < 65536, "conv2d: problem too large for the CUDA grid (",
             op.M, " x ", op.N, ")");
  // Split K until there are about two blocks per SM, keeping at least 4 K-steps per split.
  const int64_t tiles = tiles_m * tiles_n;
  const int64_t k_steps = (op.K + kBK - 1) / kBK;
  int64_t splits = 1;
  const int64_t want = 2 * static_cast<int64_t>(sm_count());
  if (tiles < want)
    splits = std::min<int64_t>({(want + tiles - 1) / tiles, std::max<int64_t>(k_steps / 4, 1), 64});
  // The split reduction indexes M*N in 32 bits; a problem that large fills the GPU unsplit.
  if (op.M * op.N >= FastDivmod::kLimit) splits = 1;
  const int64_t k_per_split = ((k_steps + splits - 1) / splits) * kBK;
  splits = std::max<int64_t>(1, (op.K + k_per_split - 1) / k_per_split);
  const dim3 grid(static_cast<unsigned>(tiles_m), static_cast<unsigned>(tiles_n),
                  static_cast<unsigned>(splits));
  std::optional<Scratch<float>> workspace;
  float* partial = nullptr;
  if (splits > 1) {
    workspace.emplace(Device::cuda(kiln::cuda::current_device()), splits * op.M * op.N);
    partial = workspace->data();
  }
  if (precision == ConvPrecision::TF32)
    implicit_gemm_kernel<Op, true>
        <<<grid, kThreads, 0, stream>>>(op, static_cast<uint32_t>(k_per_split), partial);
  else
    implicit_gemm_kernel<Op, false>
        <<<grid, kThreads, 0, stream>>>(op, static_cast<uint32_t>(k_per_split), partial);
  KILN_LAUNCH_CHECK();
  if (splits > 1) {
    reduce_splits_kernel<Op><<<kiln::cuda::grid_for(op.M * op.N, 256), 256, 0, stream>>>(
        op, FastDivmod(op.N), static_cast<int>(splits), partial);
    KILN_LAUNCH_CHECK();
  }
}

// The kernels index in 32 bits (kernels/conv2d_gemm_ops.h); refuse shapes beyond that.
void check_fits(const Conv2dShape& s) {
  KILN_CHECK(conv_gemm::Geometry::fits(s),
             "conv2d: shape too large for the CUDA kernels' 32-bit index math (N=", s.n, " C=", s.c,
             " H=", s.h, " W=", s.w, " K=", s.k, " R=", s.r, " S=", s.s,
             "): every per-image extent and the batch's pixel count must stay below 2^31");
}

}  // namespace

void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight, const float* bias,
                    float* y, ConvPrecision precision) {
  check_fits(shape);
  run_gemm(conv_gemm::forward_op(shape, x, weight, bias, y), precision);
}

void conv2d_backward_input(const Conv2dShape& shape, const float* dy, const float* weight, float* dx,
                           ConvPrecision precision) {
  check_fits(shape);
  run_gemm(conv_gemm::backward_input_op(shape, dy, weight, dx), precision);
}

void conv2d_backward_weight(const Conv2dShape& shape, const float* x, const float* dy, float* dweight,
                            float* dbias, ConvPrecision precision) {
  check_fits(shape);
  run_gemm(conv_gemm::backward_weight_op(shape, x, dy, dweight), precision);
  if (dbias && shape.k > 0) {
    const int64_t pq = shape.p() * shape.q();
    kiln::cuda::launch(bias_grad_kernel, {static_cast<unsigned>(shape.k), 256},
                       static_cast<uint32_t>(shape.n), static_cast<uint32_t>(shape.k),
                       FastDivmod(pq > 0 ? pq : 1), dy, dbias);
  }
}

}  // namespace kiln::kernels::cuda
