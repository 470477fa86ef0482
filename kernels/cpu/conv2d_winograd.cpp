// See conv2d_winograd.h. With d a 4x4 input patch, g a 3x3 filter and m their 4x4 elementwise
// product after transformation, one 2x2 output tile is
//   Y = A^T [ (G g G^T) .* (B^T d B) ] A,
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// Tile t = (n, th, tw) covers outputs rows 2th..2th+1, columns 2tw..2tw+1 and reads input rows
// 2th-1..2th+2, columns 2tw-1..2tw+2 (zero outside the image: the padding). Layouts:
// V [16][C][T] (transformed input), U [16][K][C] (transformed weights), M [16][K][T], each of
// the 16 planes plane_stride() elements after the previous.
// The weight gradient is F(3x3, 2x2), the same algorithm with A and G swapped (Lavin & Gray):
//   dW = G^T [ sum over tiles of (A e A^T) .* (B^T d B) ] G,  e the 2x2 tile of dy.
#include "kernels/cpu/conv2d_winograd.h"

#include <algorithm>
#include <memory>
#include <type_traits>

#include "kernels/cpu/conv2d_gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/gemm.h"

namespace kiln::kernels::cpu {

namespace {

// The distance between consecutive of the 16 planes: one cache line more than a plane, so the
// 16 streams a transform reads or writes at once do not fall into the same cache sets when a
// plane's size is a multiple of a large power of two (64 channels x 2048 tiles is 2^17).
inline int64_t plane_stride(int64_t elements) { return elements + 16; }

// Per-thread buffers grown on demand and never cleared: every element read is written first
// in the same call, and repeated training steps reuse them without allocating.
template <typename T>
T* winograd_scratch(int slot, size_t n) {
  struct Buffer {
    std::unique_ptr<T[]> data;
    size_t size = 0;
  };
  thread_local Buffer buffers[3];
  Buffer& b = buffers[slot];
  if (b.size < n) {
    b.data.reset();
    b.data.reset(new T[n]);
    b.size = n;
  }
  return b.data.get();
}

// The weights of one output channel: for each input channel i, its filter g is read at
// w[base + i * stride + at[3r + s]] and G g G^T goes to u[xi * OIs + i]. One SIMD lane per
// input channel.
template <typename T>
[[gnu::always_inline]] inline void weight_row(const T* __restrict w, int64_t base, int64_t stride,
                                              const int* __restrict at, int64_t in_ch, int64_t OIs,
                                              T* __restrict u) {
#pragma omp simd
  for (int64_t i = 0; i < in_ch; ++i) {
    T g[3][3];
    for (int r = 0; r < 3; ++r)
      for (int s = 0; s < 3; ++s) g[r][s] = w[base + i * stride + at[r * 3 + s]];
    // tmp = G g  (4x3), then G g G^T (4x4).
    T tmp[4][3];
    for (int s = 0; s < 3; ++s) {
      tmp[0][s] = g[0][s];
      tmp[1][s] = T(0.5) * (g[0][s] + g[1][s] + g[2][s]);
      tmp[2][s] = T(0.5) * (g[0][s] - g[1][s] + g[2][s]);
      tmp[3][s] = g[2][s];
    }
    for (int r = 0; r < 4; ++r) {
      const T v[4] = {tmp[r][0], T(0.5) * (tmp[r][0] + tmp[r][1] + tmp[r][2]),
                      T(0.5) * (tmp[r][0] - tmp[r][1] + tmp[r][2]), tmp[r][2]};
      for (int s = 0; s < 4; ++s) u[(r * 4 + s) * OIs + i] = v[s];
    }
  }
}

KILN_SIMD_CLONES void weight_row_f32(const float* w, int64_t base, int64_t stride, const int* at,
                                     int64_t in_ch, int64_t OIs, float* u) {
  weight_row(w, base, stride, at, in_ch, OIs, u);
}

// U[xi][o][i] = (G g G^T)[xi] for the filter g of output channel o and input channel i, read
// from w [O][I][3][3] as stored, or (flip_transpose) from w [I][O][3][3] rotated by 180 degrees:
// the filter that turns the forward convolution into its input gradient.
template <typename T>
void transform_weights(const T* w, int64_t out_ch, int64_t in_ch, bool flip_transpose, T* u) {
  const int64_t OI = out_ch * in_ch, OIs = plane_stride(OI);
  int at[9];  // where element (r, s) of a filter is, from the filter's first element
  for (int r = 0; r < 3; ++r)
    for (int s = 0; s < 3; ++s) at[r * 3 + s] = flip_transpose ? (2 - r) * 3 + (2 - s) : r * 3 + s;
  const int64_t stride = flip_transpose ? out_ch * 9 : 9;  // from one input channel's filter to the next
#pragma omp parallel for schedule(static) if (OI * 16 > kParallelGrain)
  for (int64_t o = 0; o < out_ch; ++o) {
    const int64_t base = flip_transpose ? o * 9 : o * in_ch * 9;
    if constexpr (std::is_same_v<T, float>)
      weight_row_f32(w, base, stride, at, in_ch, OIs, u + o * in_ch);
    else
      weight_row(w, base, stride, at, in_ch, OIs, u + o * in_ch);
  }
}

// One row of tiles of transform_input: the tw tiles whose 4x4 patches start at column 2j of
// rows r0..r3 of a padded plane, written to o[xi * CTs + j]. One SIMD lane per tile: the
// patches' columns are read with stride 2, each of the 16 outputs is a contiguous store.
template <typename T>
[[gnu::always_inline]] inline void input_tile_row(const T* __restrict r0, const T* __restrict r1,
                                                  const T* __restrict r2, const T* __restrict r3, int64_t tw,
                                                  int64_t CTs, T* __restrict o) {
#pragma omp simd
  for (int64_t j = 0; j < tw; ++j) {
    const int64_t q = 2 * j;
    // tmp = B^T d (column by column), then (B^T d) B.
    T t[4][4];
    for (int s = 0; s < 4; ++s) {
      t[0][s] = r0[q + s] - r2[q + s];
      t[1][s] = r1[q + s] + r2[q + s];
      t[2][s] = r2[q + s] - r1[q + s];
      t[3][s] = r1[q + s] - r3[q + s];
    }
    for (int r = 0; r < 4; ++r) {
      o[(r * 4 + 0) * CTs + j] = t[r][0] - t[r][2];
      o[(r * 4 + 1) * CTs + j] = t[r][1] + t[r][2];
      o[(r * 4 + 2) * CTs + j] = t[r][2] - t[r][1];
      o[(r * 4 + 3) * CTs + j] = t[r][1] - t[r][3];
    }
  }
}

KILN_SIMD_CLONES void input_tile_row_f32(const float* r0, const float* r1, const float* r2, const float* r3,
                                         int64_t tw, int64_t CTs, float* o) {
  input_tile_row(r0, r1, r2, r3, tw, CTs, o);
}

// V[xi][c][t] = (B^T d B)[xi] for the 4x4 patch d of tile t in channel c. Each plane is first
// copied into a zero-bordered buffer (rows -1 .. 2*th, columns -1 .. 2*tw), so the tile loop has
// no bounds tests and the compiler can vectorise it across tiles.
template <typename T>
void transform_input(const T* x, int64_t n, int64_t c, int64_t h, int64_t w, int64_t th, int64_t tw, T* v) {
  const int64_t tiles = n * th * tw, CT = c * tiles, CTs = plane_stride(CT);
  const int64_t hp = 2 * th + 2, wp = 2 * tw + 2;
#pragma omp parallel for collapse(2) schedule(static) if (CT * 16 > kParallelGrain)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      thread_local std::unique_ptr<T[]> padded;
      thread_local int64_t padded_size = 0;
      if (padded_size < hp * wp) {
        padded.reset(new T[hp * wp]);
        padded_size = hp * wp;
      }
      T* pad = padded.get();
      std::fill(pad, pad + hp * wp, T(0));
      const T* plane = x + (b * c + ch) * h * w;
      for (int64_t r = 0; r < h; ++r) std::copy(plane + r * w, plane + (r + 1) * w, pad + (r + 1) * wp + 1);
      T* out = v + ch * tiles + b * th * tw;
      for (int64_t i = 0; i < th; ++i) {
        const T* r0 = pad + 2 * i * wp;
        if constexpr (std::is_same_v<T, float>)
          input_tile_row_f32(r0, r0 + wp, r0 + 2 * wp, r0 + 3 * wp, tw, CTs, out + i * tw);
        else
          input_tile_row(r0, r0 + wp, r0 + 2 * wp, r0 + 3 * wp, tw, CTs, out + i * tw);
      }
    }
}

// A^T e A for the 4x4 products e of one tile: the 2x2 output tile.
template <typename T>
[[gnu::always_inline]] inline void output_tile(const T (&e)[4][4], T (&out)[2][2]) {
  // tmp = A^T e (2x4), then (A^T e) A (2x2).
  T tmp[2][4];
  for (int s = 0; s < 4; ++s) {
    tmp[0][s] = e[0][s] + e[1][s] + e[2][s];
    tmp[1][s] = e[1][s] - e[2][s] - e[3][s];
  }
  out[0][0] = tmp[0][0] + tmp[0][1] + tmp[0][2];
  out[0][1] = tmp[0][1] - tmp[0][2] - tmp[0][3];
  out[1][0] = tmp[1][0] + tmp[1][1] + tmp[1][2];
  out[1][1] = tmp[1][1] - tmp[1][2] - tmp[1][3];
}

// The first `count` tiles of a row of tiles whose 2x2 outputs all lie inside the image: tile j
// reads src[xi * KTs + j] and writes columns 2j, 2j + 1 of output rows y0 and y1. One SIMD
// lane per tile.
template <typename T>
[[gnu::always_inline]] inline void output_tile_row(const T* __restrict src, int64_t KTs, int64_t count, T add,
                                                   T* __restrict y0, T* __restrict y1) {
#pragma omp simd
  for (int64_t j = 0; j < count; ++j) {
    T e[4][4], out[2][2];
    for (int r = 0; r < 4; ++r)
      for (int s = 0; s < 4; ++s) e[r][s] = src[(r * 4 + s) * KTs + j];
    output_tile(e, out);
    y0[2 * j] = out[0][0] + add;
    y0[2 * j + 1] = out[0][1] + add;
    y1[2 * j] = out[1][0] + add;
    y1[2 * j + 1] = out[1][1] + add;
  }
}

KILN_SIMD_CLONES void output_tile_row_f32(const float* src, int64_t KTs, int64_t count, float add, float* y0,
                                          float* y1) {
  output_tile_row(src, KTs, count, add, y0, y1);
}

// y[b][k] tile (i, j) = A^T M A (+ bias), clipped at the image's last row and column.
template <typename T>
void transform_output(const T* m, const T* bias, int64_t n, int64_t k, int64_t p, int64_t q, int64_t th,
                      int64_t tw, T* y) {
  const int64_t tiles = n * th * tw, KT = k * tiles, KTs = plane_stride(KT);
#pragma omp parallel for collapse(2) schedule(static) if (KT * 16 > kParallelGrain)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < k; ++ch) {
      T* plane = y + (b * k + ch) * p * q;
      const T add = bias ? bias[ch] : T(0);
      for (int64_t i = 0; i < th; ++i) {
        const T* row = m + ch * tiles + (b * th + i) * tw;
        // Whole tiles first (both rows and both columns inside), then the clipped ones.
        int64_t j = 0;
        if (2 * i + 1 < p) {
          j = q / 2;
          if constexpr (std::is_same_v<T, float>)
            output_tile_row_f32(row, KTs, j, add, plane + 2 * i * q, plane + (2 * i + 1) * q);
          else
            output_tile_row(row, KTs, j, add, plane + 2 * i * q, plane + (2 * i + 1) * q);
        }
        for (; j < tw; ++j) {
          T e[4][4], out[2][2];
          for (int r = 0; r < 4; ++r)
            for (int s = 0; s < 4; ++s) e[r][s] = row[(r * 4 + s) * KTs + j];
          output_tile(e, out);
          for (int r = 0; r < 2; ++r) {
            const int64_t oh = 2 * i + r;
            if (oh >= p) break;
            for (int s = 0; s < 2; ++s) {
              const int64_t ow = 2 * j + s;
              if (ow < q) plane[oh * q + ow] = out[r][s] + add;
            }
          }
        }
      }
    }
}

// The 3x3 / stride 1 / pad 1 convolution of x [n, in_ch, h, w] into y [n, out_ch, h, w], in
// chunks of the batch that keep the transformed input and products near 16M elements.
template <typename T>
void winograd_conv(int64_t n, int64_t in_ch, int64_t out_ch, int64_t h, int64_t w, const T* x,
                   const T* weight, bool flip_transpose, const T* bias, T* y) {
  const int64_t th = (h + 1) / 2, tw = (w + 1) / 2;
  const int64_t per_sample = 16 * (in_ch + out_ch) * th * tw;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(n, (int64_t(1) << 24) / per_sample));
  T* u = winograd_scratch<T>(0, static_cast<size_t>(16 * plane_stride(out_ch * in_ch)));
  T* v = winograd_scratch<T>(1, static_cast<size_t>(16 * plane_stride(in_ch * chunk * th * tw)));
  T* m = winograd_scratch<T>(2, static_cast<size_t>(16 * plane_stride(out_ch * chunk * th * tw)));
  transform_weights(weight, out_ch, in_ch, flip_transpose, u);
  for (int64_t n0 = 0; n0 < n; n0 += chunk) {
    const int64_t nb = std::min(chunk, n - n0), tiles = nb * th * tw;
    transform_input(x + n0 * in_ch * h * w, nb, in_ch, h, w, th, tw, v);
    // M[xi] [out_ch, tiles] = U[xi] [out_ch, in_ch] @ V[xi] [in_ch, tiles], for the 16 xi.
    GemmArgs g;
    g.m = out_ch;
    g.n = tiles;
    g.k = in_ch;
    g.lda = in_ch;
    g.ldb = tiles;
    g.ldc = tiles;
    g.batch = 16;
    g.stride_a = plane_stride(out_ch * in_ch);
    g.stride_b = plane_stride(in_ch * tiles);
    g.stride_c = plane_stride(out_ch * tiles);
    gemm<T>(g, u, v, m);
    transform_output(m, bias, nb, out_ch, h, w, th, tw, y + n0 * out_ch * h * w);
  }
}

// (A e A^T) for the 2x2 tile e of dy, to dst[xi * KTs]. A = [1 0; 1 1; 1 -1; 0 -1]: tmp = A e
// (4x2), then (A e) A^T (4x4).
template <typename T>
[[gnu::always_inline]] inline void output_gradient_tile(T e00, T e01, T e10, T e11, int64_t KTs, T* dst) {
  const T tmp[4][2] = {{e00, e01}, {e00 + e10, e01 + e11}, {e00 - e10, e01 - e11}, {-e10, -e11}};
  for (int r = 0; r < 4; ++r) {
    dst[(r * 4 + 0) * KTs] = tmp[r][0];
    dst[(r * 4 + 1) * KTs] = tmp[r][0] + tmp[r][1];
    dst[(r * 4 + 2) * KTs] = tmp[r][0] - tmp[r][1];
    dst[(r * 4 + 3) * KTs] = -tmp[r][1];
  }
}

// The first `count` tiles of a row of tiles that lie inside dy: tile j reads columns 2j, 2j + 1
// of rows y0 and y1 and writes dst[xi * KTs + j]. One SIMD lane per tile.
template <typename T>
[[gnu::always_inline]] inline void output_gradient_tile_row(const T* __restrict y0, const T* __restrict y1,
                                                            int64_t count, int64_t KTs, T* __restrict dst) {
#pragma omp simd
  for (int64_t j = 0; j < count; ++j)
    output_gradient_tile(y0[2 * j], y0[2 * j + 1], y1[2 * j], y1[2 * j + 1], KTs, dst + j);
}

KILN_SIMD_CLONES void output_gradient_tile_row_f32(const float* y0, const float* y1, int64_t count,
                                                   int64_t KTs, float* dst) {
  output_gradient_tile_row(y0, y1, count, KTs, dst);
}

// W'[xi][k][t] = (A e A^T)[xi] for the 2x2 tile e of dy (zero past the last row or column):
// the weight gradient's "filter" side, F(3x3, 2x2) being F(2x2, 3x3) with A and G swapped.
template <typename T>
void transform_output_gradient(const T* dy, int64_t n, int64_t k, int64_t p, int64_t q, int64_t th,
                               int64_t tw, T* out) {
  const int64_t tiles = n * th * tw, KT = k * tiles, KTs = plane_stride(KT);
#pragma omp parallel for collapse(2) schedule(static) if (KT * 16 > kParallelGrain)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < k; ++ch) {
      const T* plane = dy + (b * k + ch) * p * q;
      for (int64_t i = 0; i < th; ++i) {
        T* row = out + ch * tiles + (b * th + i) * tw;
        // Whole tiles first (both rows and both columns inside), then the clipped ones.
        int64_t j = 0;
        if (2 * i + 1 < p) {
          j = q / 2;
          if constexpr (std::is_same_v<T, float>)
            output_gradient_tile_row_f32(plane + 2 * i * q, plane + (2 * i + 1) * q, j, KTs, row);
          else
            output_gradient_tile_row(plane + 2 * i * q, plane + (2 * i + 1) * q, j, KTs, row);
        }
        for (; j < tw; ++j) {
          T e[2][2];
          for (int r = 0; r < 2; ++r)
            for (int s = 0; s < 2; ++s) {
              const int64_t oh = 2 * i + r, ow = 2 * j + s;
              e[r][s] = (oh < p && ow < q) ? plane[oh * q + ow] : T(0);
            }
          output_gradient_tile(e[0][0], e[0][1], e[1][0], e[1][1], KTs, row + j);
        }
      }
    }
}

// dweight[k][c] = G^T Mw[.][k][c] G (3x3) from the 16 summed products Mw [16][K][C].
template <typename T>
void transform_weight_gradient(const T* mw, int64_t k, int64_t c, T* dweight) {
  const int64_t KC = k * c, KCs = plane_stride(KC);
#pragma omp parallel for schedule(static) if (KC * 16 > kParallelGrain)
  for (int64_t kc = 0; kc < KC; ++kc) {
    T e[4][4];
    for (int r = 0; r < 4; ++r)
      for (int s = 0; s < 4; ++s) e[r][s] = mw[(r * 4 + s) * KCs + kc];
    // G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]: tmp = G^T e (3x4), then (G^T e) G (3x3).
    T tmp[3][4];
    for (int s = 0; s < 4; ++s) {
      tmp[0][s] = e[0][s] + T(0.5) * (e[1][s] + e[2][s]);
      tmp[1][s] = T(0.5) * (e[1][s] - e[2][s]);
      tmp[2][s] = T(0.5) * (e[1][s] + e[2][s]) + e[3][s];
    }
    T* dst = dweight + kc * 9;
    for (int r = 0; r < 3; ++r) {
      dst[r * 3 + 0] = tmp[r][0] + T(0.5) * (tmp[r][1] + tmp[r][2]);
      dst[r * 3 + 1] = T(0.5) * (tmp[r][1] - tmp[r][2]);
      dst[r * 3 + 2] = T(0.5) * (tmp[r][1] + tmp[r][2]) + tmp[r][3];
    }
  }
}

}  // namespace

bool conv2d_winograd_applies(const Conv2dShape& s) {
  // Below 16 channels on either side the GEMMs are too thin to pay for the transforms (the
  // ResNet stem's 3 input channels, the MNIST Net's 1). Even ResNet-18's 2x2 stage at batch 32
  // (32 tiles) ran faster this way than through im2col in A/B runs of the whole step.
  return s.r == 3 && s.s == 3 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 1 && s.pad_w == 1 &&
         s.c >= 16 && s.k >= 16 && s.n > 0;
}

template <typename T>
void conv2d_forward_winograd(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  winograd_conv(s.n, s.c, s.k, s.h, s.w, x, weight, false, bias, y);
}

template <typename T>
void conv2d_backward_input_winograd(const Conv2dShape& s, const T* dy, const T* weight, T* dx) {
  // dx[n, c] = sum_k dy[n, k] (*) rot180(w[k, c]), pad 1: the forward with k and c swapped.
  winograd_conv(s.n, s.k, s.c, s.h, s.w, dy, weight, true, static_cast<const T*>(nullptr), dx);
}

template <typename T>
void conv2d_backward_weight_winograd(const Conv2dShape& s, const T* x, const T* dy, T* dweight, T* dbias) {
  // dweight[k][c] = sum over tiles of G^T [(A dy_t A^T)[k] .* (B^T x_t B)[c]] G: 16 GEMMs
  // Mw[xi] [K, C] (+)= W'[xi] [K, tiles] @ V[xi]^T [tiles, C], accumulated over batch chunks.
  const int64_t th = (s.h + 1) / 2, tw = (s.w + 1) / 2;
  const int64_t per_sample = 16 * (s.c + s.k) * th * tw;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(s.n, (int64_t(1) << 24) / per_sample));
  T* mw = winograd_scratch<T>(0, static_cast<size_t>(16 * plane_stride(s.k * s.c)));
  T* v = winograd_scratch<T>(1, static_cast<size_t>(16 * plane_stride(s.c * chunk * th * tw)));
  T* e = winograd_scratch<T>(2, static_cast<size_t>(16 * plane_stride(s.k * chunk * th * tw)));
  std::unique_ptr<double[]> bias_acc(dbias ? new double[s.k]() : nullptr);
  for (int64_t n0 = 0; n0 < s.n; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.n - n0), tiles = nb * th * tw;
    const T* dyc = dy + n0 * s.k * s.h * s.w;
    transform_input(x + n0 * s.c * s.h * s.w, nb, s.c, s.h, s.w, th, tw, v);
    transform_output_gradient(dyc, nb, s.k, s.h, s.w, th, tw, e);
    GemmArgs g;
    g.trans_b = true;
    g.m = s.k;
    g.n = s.c;
    g.k = tiles;
    g.lda = tiles;
    g.ldb = tiles;
    g.ldc = s.c;
    g.batch = 16;
    g.stride_a = plane_stride(s.k * tiles);
    g.stride_b = plane_stride(s.c * tiles);
    g.stride_c = plane_stride(s.k * s.c);
    g.beta = n0 == 0 ? 0.0 : 1.0;
    gemm<T>(g, e, v, mw);
    if (dbias)
      for (int64_t b = 0; b < nb; ++b)
        add_row_sums(dyc + b * s.k * s.h * s.w, s.k, s.h * s.w, bias_acc.get());
  }
  transform_weight_gradient(mw, s.k, s.c, dweight);
  if (dbias)
    for (int64_t k = 0; k < s.k; ++k) dbias[k] = static_cast<T>(bias_acc[k]);
}

#define KILN_INSTANTIATE(T)                                                                       \
  template void conv2d_forward_winograd<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input_winograd<T>(const Conv2dShape&, const T*, const T*, T*);    \
  template void conv2d_backward_weight_winograd<T>(const Conv2dShape&, const T*, const T*, T*, T*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
