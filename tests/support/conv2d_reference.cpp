// The convolution's definition in float64 (see conv2d_reference.h).
#include "tests/support/conv2d_reference.h"

namespace kiln::testing {

kernels::Conv2dShape shape_of(const ConvCase& t) {
  kernels::Conv2dShape s;
  s.n = t.n;
  s.c = t.c;
  s.h = t.h;
  s.w = t.w;
  s.k = t.k;
  s.r = s.s = t.r;
  s.stride_h = s.stride_w = t.stride;
  s.pad_h = s.pad_w = t.pad;
  return s;
}

ConvReference direct_conv(const kernels::Conv2dShape& s, const std::vector<double>& x,
                          const std::vector<double>& w, const std::vector<double>& b,
                          const std::vector<double>& dy) {
  const int64_t P = s.p(), Q = s.q();
  ConvReference ref;
  ref.y.assign(s.n * s.k * P * Q, 0.0);
  ref.dx.assign(x.size(), 0.0);
  ref.dw.assign(w.size(), 0.0);
  ref.db.assign(s.k, 0.0);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t k = 0; k < s.k; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t yi = ((n * s.k + k) * P + p) * Q + q;
          double acc = b[k];
          for (int64_t c = 0; c < s.c; ++c)
            for (int64_t r = 0; r < s.r; ++r)
              for (int64_t t = 0; t < s.s; ++t) {
                const int64_t ih = p * s.stride_h - s.pad_h + r, iw = q * s.stride_w - s.pad_w + t;
                if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                const int64_t xi = ((n * s.c + c) * s.h + ih) * s.w + iw,
                              wi = ((k * s.c + c) * s.r + r) * s.s + t;
                acc += x[xi] * w[wi];
                ref.dx[xi] += dy[yi] * w[wi];
                ref.dw[wi] += dy[yi] * x[xi];
              }
          ref.y[yi] = acc;
          ref.db[k] += dy[yi];
        }
  return ref;
}

}  // namespace kiln::testing
