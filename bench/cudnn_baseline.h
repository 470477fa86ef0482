// cuDNN's convolution and batch norm behind kiln's kernel contracts (kernels/conv2d.h,
// kernels/batchnorm.h): the baseline kiln_bench_kernels times beside kiln's kernels, and the
// reference the GPU tests compare kiln's kernels with. kiln_lib never uses it.
// Only cuDNN's headers are needed to build this; libcudnn is loaded when first used, so a
// machine without it still runs every other benchmark and test, and says why cuDNN is missing.
#pragma once

#include <memory>
#include <string>

#include "kernels/batchnorm.h"
#include "kernels/conv2d.h"

namespace kiln::cudnn {

// Loads cuDNN once: the file named by KILN_CUDNN_LIBRARY if set, else libcudnn.so.<major>
// on the usual library path, else the one this program was built against. Throws
// kiln::Error naming every place tried, or a major version that differs from the headers'.
void load();
// Empty when cuDNN loads, else the reason it does not (never throws).
std::string unavailable_reason();
// The loaded library's version ("9.19.0") and file.
std::string version();
std::string library_path();

// How a convolution picks its algorithm for each direction.
enum class AlgoChoice : unsigned char {
  // Every applicable algorithm timed once (cudnnFind*), the fastest kept: the best cuDNN can
  // do on this GPU, which is the baseline a benchmark should beat.
  Fastest,
  // The heuristics' first GEMM-family algorithm (implicit/explicit GEMM, direct): no FFT or
  // Winograd, whose transforms add rounding of their own. Their error then follows the same
  // model as kiln's kernels (rounded operands, fp32 accumulation), which is what the tests'
  // tolerances assume.
  Reference,
};

// One convolution, planned once: descriptors, an algorithm per direction and a workspace, on
// kiln's stream. TF32 lets cuDNN use TF32 tensor cores (CUDNN_DEFAULT_MATH, what PyTorch does
// with allow_tf32); FP32 restricts it to FMA kernels (CUDNN_FMA_MATH). float only.
class Conv2d {
 public:
  Conv2d(const kernels::Conv2dShape& shape, kernels::ConvPrecision precision, AlgoChoice choice);
  ~Conv2d();
  Conv2d(const Conv2d&) = delete;
  Conv2d& operator=(const Conv2d&) = delete;

  // Same arguments and assign semantics as kernels::cuda::conv2d_*; bias and dbias may be null.
  void forward(const float* x, const float* weight, const float* bias, float* y);
  void backward_input(const float* dy, const float* weight, float* dx);
  void backward_weight(const float* x, const float* dy, float* dweight, float* dbias);

  // What cuDNN chose, e.g. "IMPLICIT_PRECOMP_GEMM/tensor_op", for benchmark rows and messages.
  const std::string& forward_algo() const;
  const std::string& backward_input_algo() const;
  const std::string& backward_weight_algo() const;

 private:
  struct Plan;
  std::unique_ptr<Plan> plan_;
};

// Batch norm over x [N, C, H*W] in cuDNN's spatial mode, planned once per shape. Same
// arguments as kernels::cuda::batchnorm_*<float> (gamma/beta null: 1 and 0; dgamma/dbeta
// may be null), except that backward takes the forward's eps, which cuDNN asks for. save_invstd
// is cuDNN's "saved inverse variance", 1/sqrt(var + eps), as in kiln; running_var is updated
// with the unbiased batch variance, as in kiln and PyTorch.
class BatchNorm2d {
 public:
  explicit BatchNorm2d(const kernels::BatchNormShape& shape);
  ~BatchNorm2d();
  BatchNorm2d(const BatchNorm2d&) = delete;
  BatchNorm2d& operator=(const BatchNorm2d&) = delete;

  void forward_train(const float* x, const float* gamma, const float* beta, double eps, double momentum,
                     float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var);
  void forward_eval(const float* x, const float* gamma, const float* beta, const float* running_mean,
                    const float* running_var, double eps, float* y);
  void backward(const float* dy, const float* x, const float* gamma, const float* save_mean,
                const float* save_invstd, double eps, float* dx, float* dgamma, float* dbeta);

 private:
  struct Plan;
  std::unique_ptr<Plan> plan_;
};

}  // namespace kiln::cudnn
