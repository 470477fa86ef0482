// The convolution's definition in float64, shared by the tests of every convolution kernel
// (the reference, the faster CPU variants, the CUDA implicit GEMM and its host-side gathers).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/conv2d.h"

namespace kiln::testing {

// A square-kernel convolution case: batch n, c input channels of h x w, k filters of r x r,
// one stride and one padding for both sides.
struct ConvCase {
  const char* name;
  int64_t n, c, h, w, k, r, stride, pad;
};

kernels::Conv2dShape shape_of(const ConvCase& t);

// y, and the adjoints dx, dw, db for upstream dy, straight from the definition.
struct ConvReference {
  std::vector<double> y, dx, dw, db;
};

ConvReference direct_conv(const kernels::Conv2dShape& s, const std::vector<double>& x,
                          const std::vector<double>& w, const std::vector<double>& b,
                          const std::vector<double>& dy);

}  // namespace kiln::testing
