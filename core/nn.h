// The functional neural-network ops (kiln's torch.nn.functional): convolution, pooling,
// batch normalisation, dropout and linear layers. Each checks its arguments, dispatches
// once to kernels/cpu or kernels/cuda, and records its backward. Layers (layers/) hold the
// parameters and call these.
#pragma once

#include <cstdint>

#include "core/generator.h"
#include "core/tensor.h"

namespace kiln {

// Convolution arithmetic on CUDA: TF32 tensor cores (the default, as PyTorch's cuDNN
// convolutions) or exact FP32. CPU convolutions are always exact.
enum class ConvMath : uint8_t { TF32, FP32 };
void set_conv_math(ConvMath math);
ConvMath conv_math();

// x [N, C, H, W], weight [K, C, R, S], bias [K] or undefined -> [N, K, P, Q].
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride = 1,
              int64_t padding = 0);

// Max over kernel x kernel windows (stride defaults to kernel); padding <= kernel / 2.
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0);
// Average over PyTorch's adaptive windows to an out_h x out_w map.
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);

// Whether an op runs as in training (batch statistics, random masks) or in evaluation.
enum class Phase { Train, Eval };

// Batch normalisation over dim 1 of [N, C] or [N, C, H, W]. In training, batch statistics
// normalise and running_mean/running_var (if defined) are updated in place with `momentum`;
// in evaluation the running statistics normalise. weight/bias may be undefined (affine off).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, Phase phase, double momentum = 0.1,
                  double eps = 1e-5);

// Zeroes each element with probability p and scales survivors by 1/(1-p) (training only;
// identity otherwise). Masks come from `gen` (Philox): equal on CPU and CUDA.
Tensor dropout(const Tensor& x, double p, Phase phase, Generator& gen = default_generator());
// Zeroes whole channels of [N, C, H, W] (for [N, C] every element is its own channel, as
// PyTorch's feature dropout).
Tensor dropout2d(const Tensor& x, double p, Phase phase, Generator& gen = default_generator());

// x [..., in] @ weight[out, in]^T + bias[out] -> [..., out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace kiln
