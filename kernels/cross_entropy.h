// Contract of the fused softmax cross-entropy kernel. logits [N, C] (row-major), labels
// int64 [N]. For each row i with label y, log-probabilities lp = log_softmax(logits[i]) and
// per-class coefficients c_k, the kernel computes in ONE pass over the row
//   loss[i]    = sum_k c_k * (-lp_k)
//   dlogits[i] = (sum_k c_k) * softmax_k - c_k          (d loss[i] / d logits[i])
//   weight[i]  = the row's weight in a mean reduction (its normaliser)
// with the coefficients of the chosen label-smoothing convention (a = smoothing, w = class
// weights, 1 when absent):
//   PyTorch  (CrossEntropyLoss(weight=w, label_smoothing=a)): c_k = (1-a) w_y [k == y] + (a/C) w_k,
//            weight[i] = w_y  (so mean = sum loss / sum w_y, PyTorch's rule)
//   Tutorial (the tutorial's LabelSmoothingLoss): c_k = w_y ((1-a) [k == y] + a/(C-1) [k != y]),
//            weight[i] = w_y
// With a = 0 both are the ordinary (weighted) cross-entropy. All outputs are assigned.
// A label outside [0, C) is an error: the CPU throws naming the row; CUDA raises the device
// error flag (kLabelOutOfRange) and writes zeros for that row.
#pragma once

#include <cstdint>

namespace kiln::kernels {

enum class SmoothingConvention : uint8_t { PyTorch, Tutorial };

struct CrossEntropyArgs {
  int64_t n = 0, c = 0;
  double smoothing = 0.0;
  SmoothingConvention convention = SmoothingConvention::PyTorch;
};

namespace cpu {
template <typename T>
void cross_entropy_forward(const CrossEntropyArgs& a, const T* logits, const int64_t* labels,
                           const T* class_weights, T* loss, T* dlogits, T* row_weight);
}  // namespace cpu

namespace cuda {
template <typename T>
void cross_entropy_forward(const CrossEntropyArgs& a, const T* logits, const int64_t* labels,
                           const T* class_weights, T* loss, T* dlogits, T* row_weight);
}  // namespace cuda

}  // namespace kiln::kernels
