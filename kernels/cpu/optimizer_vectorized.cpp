// AVX-512 Adam / AdamW for float32 (see optimizer_vectorized.h). The reference spends its time
// in scalar square roots and divisions and forks threads once per parameter tensor; this
// variant splits all parameters into fixed chunks, forks once, and updates 16 elements per
// instruction. The element order of operations is the reference's (update_element),
// including its rounding: sqrt_bc2 and eps are float values used in a double denominator.
#include "kernels/cpu/optimizer_vectorized.h"

// GCC 12 reports its own AVX-512 headers' _mm512_undefined_* as maybe-uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>

#include "kernels/optimizer_math.h"

namespace kiln::kernels::cpu {

namespace {

struct Chunk {
  int32_t slot;
  int64_t begin, end;
};

// Per-step constants, rounded to float exactly as update_element rounds them.
struct AdamConstants {
  float wd, decay, b1, b2, omb1, omb2, sqrt_bc2, eps, step_size;
  bool adamw;
};

__attribute__((target("avx512f"))) void adam_range(const AdamConstants& k, float* p, const float* grad,
                                                   float* m, float* v, int64_t n) {
  const __m512 wd = _mm512_set1_ps(k.wd), decay = _mm512_set1_ps(k.decay), b1 = _mm512_set1_ps(k.b1),
               b2 = _mm512_set1_ps(k.b2), omb1 = _mm512_set1_ps(k.omb1), omb2 = _mm512_set1_ps(k.omb2),
               ss = _mm512_set1_ps(k.step_size);
  const __m512d sbc2 = _mm512_set1_pd(k.sqrt_bc2), eps = _mm512_set1_pd(k.eps);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 pv = _mm512_loadu_ps(p + i);
    __m512 g = _mm512_loadu_ps(grad + i);
    if (k.adamw)
      pv = _mm512_mul_ps(pv, decay);
    else
      g = _mm512_add_ps(g, _mm512_mul_ps(wd, pv));
    const __m512 mv = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(omb1, g));
    const __m512 vv =
        _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + i)), _mm512_mul_ps(_mm512_mul_ps(omb2, g), g));
    _mm512_storeu_ps(m + i, mv);
    _mm512_storeu_ps(v + i, vv);
    // update_element's sqrt(v) takes the double overload, so the denominator is formed in
    // double and rounded to float once; the same here, eight lanes at a time.
    const __m256 v_lo = _mm512_castps512_ps256(vv);
    const __m256 v_hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(vv), 1));
    const __m256 d_lo =
        _mm512_cvtpd_ps(_mm512_add_pd(_mm512_div_pd(_mm512_sqrt_pd(_mm512_cvtps_pd(v_lo)), sbc2), eps));
    const __m256 d_hi =
        _mm512_cvtpd_ps(_mm512_add_pd(_mm512_div_pd(_mm512_sqrt_pd(_mm512_cvtps_pd(v_hi)), sbc2), eps));
    const __m512 denom = _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(d_lo)), _mm256_castps_pd(d_hi), 1));
    _mm512_storeu_ps(p + i, _mm512_sub_ps(pv, _mm512_mul_ps(ss, _mm512_div_ps(mv, denom))));
  }
  // The tail (< 16 elements) in scalar code, the same operations.
  for (; i < n; ++i) {
    float g = grad[i];
    if (k.adamw)
      p[i] *= k.decay;
    else
      g += k.wd * p[i];
    const float mv = k.b1 * m[i] + k.omb1 * g;
    const float vv = k.b2 * v[i] + k.omb2 * g * g;
    m[i] = mv;
    v[i] = vv;
    const float denom = static_cast<float>(__builtin_sqrt(double(vv)) / double(k.sqrt_bc2) + double(k.eps));
    p[i] -= k.step_size * (mv / denom);
  }
}

}  // namespace

bool optimizer_vectorized_supports(const OptimizerHyper& h) {
  if (h.kind != OptimizerKind::Adam && h.kind != OptimizerKind::AdamW) return false;
  static const bool avx512 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return avx512;
}

void optimizer_step_vectorized(const OptimizerHyper& h, const std::vector<ParamSlot<float>>& slots,
                               int64_t* step) {
  ++*step;
  const StepScalars s = step_scalars(h, *step);
  AdamConstants k;
  k.adamw = h.kind == OptimizerKind::AdamW;
  k.wd = static_cast<float>(h.weight_decay);
  k.decay = static_cast<float>(1 - h.lr * h.weight_decay);
  k.b1 = static_cast<float>(h.beta1);
  k.b2 = static_cast<float>(h.beta2);
  k.omb1 = static_cast<float>(1 - h.beta1);
  k.omb2 = static_cast<float>(1 - h.beta2);
  k.sqrt_bc2 = static_cast<float>(s.sqrt_bc2);
  k.eps = static_cast<float>(h.eps);
  k.step_size = static_cast<float>(s.step_size);
  // 16K-element chunks (a multiple of 16, so only a tensor's last chunk has a scalar tail):
  // small enough to balance two threads, large enough that scheduling costs nothing.
  constexpr int64_t kChunk = int64_t(1) << 14;
  std::vector<Chunk> chunks;
  int64_t total = 0;
  for (size_t i = 0; i < slots.size(); ++i) {
    for (int64_t b = 0; b < slots[i].numel; b += kChunk)
      chunks.push_back({static_cast<int32_t>(i), b, std::min(b + kChunk, slots[i].numel)});
    total += slots[i].numel;
  }
  const int64_t count = static_cast<int64_t>(chunks.size());
#pragma omp parallel for schedule(static) if (total > (int64_t(1) << 15))
  for (int64_t c = 0; c < count; ++c) {
    const ParamSlot<float>& sl = slots[chunks[c].slot];
    const int64_t b = chunks[c].begin;
    adam_range(k, sl.param + b, sl.grad + b, sl.state0 + b, sl.state1 + b, chunks[c].end - b);
  }
}

}  // namespace kiln::kernels::cpu
