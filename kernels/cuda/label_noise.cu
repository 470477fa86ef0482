// CUDA DisturbLabel / DisturbValue (contract: kernels/label_noise.h), using the CPU's draw
// functions (kernels/label_noise_draws.h) so both devices corrupt the same samples. The
// DisturbValue selection ranks each sample's key against all others (O(N^2) work spread over
// N threads; batches are small) instead of sorting.
#include <cuda_runtime.h>

#include "core/cuda_context.h"
#include "core/random_math.h"
#include "kernels/label_noise.h"
#include "kernels/label_noise_draws.h"
#include "kernels/scratch.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void disturb_label_kernel(DisturbLabelArgs a, uint64_t threshold, const int64_t* labels,
                                     int64_t* out, int* error_flag) {
  const uint64_t offset = a.offset.resolve();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < a.n; i += stride) {
    const int64_t label = labels[i];
    if (label < 0 || label >= a.num_classes) {
      atomicOr(error_flag, kiln::cuda::kLabelOutOfRange);
      out[i] = label;
      continue;
    }
    out[i] = disturbed_label(a.seed, offset, i, label, a.num_classes, threshold);
  }
}

// noisy[i] = 1 when sample i is among the k smallest (key, index).
__global__ void select_by_rank_kernel(DisturbValueArgs a, int64_t k, uint8_t* noisy) {
  const uint64_t offset = a.offset.resolve();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < a.n; i += stride) {
    const uint32_t ki = philox::draw_u32(a.seed, offset, static_cast<uint64_t>(i));
    int64_t rank = 0;
    for (int64_t j = 0; j < a.n && rank < k; ++j)
      rank += key_less(philox::draw_u32(a.seed, offset, static_cast<uint64_t>(j)), j, ki, i);
    noisy[i] = rank < k;
  }
}

// The source's draw: everything noisy, then `draws` indices drawn with replacement cleared.
__global__ void select_tutorial_kernel(DisturbValueArgs a, int64_t draws, uint8_t* noisy) {
  const uint64_t offset = a.offset.resolve();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < a.n; i += stride) {
    bool hit = false;
    for (int64_t t = 0; t < draws && !hit; ++t) hit = uniform_index(a.seed, offset, t, a.n) == i;
    noisy[i] = !hit;
  }
}

template <typename T>
__global__ void add_noise_kernel(DisturbValueArgs a, const uint8_t* noisy, const T* targets, T* out) {
  const uint64_t offset = a.offset.resolve();
  const int64_t total = a.n * a.width;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    T v = targets[e];
    if (noisy[e / a.width]) {
      const double z = philox::normal_double(a.seed, offset + 1, static_cast<uint64_t>(e));
      v = static_cast<T>(v + static_cast<T>(KILN_DMUL(a.sigma, z)));
    }
    out[e] = v;
  }
}

}  // namespace

void disturb_label(const DisturbLabelArgs& a, const int64_t* labels, int64_t* out) {
  if (a.n == 0) return;
  kiln::cuda::launch(disturb_label_kernel, {kiln::cuda::grid_for(a.n, kThreads), kThreads}, a,
                     alpha_threshold(a.alpha), labels, out, kiln::cuda::device_error_flag());
}

template <typename T>
void disturb_value(const DisturbValueArgs& a, const T* targets, T* out) {
  if (a.n == 0) return;
  Scratch<uint8_t> noisy(Device::cuda(kiln::cuda::current_device()), a.n);
  uint8_t* pn = noisy.data();
  const unsigned grid = kiln::cuda::grid_for(a.n, kThreads);
  if (a.selection == DisturbValueSelection::TutorialZeroing) {
    select_tutorial_kernel<<<grid, kThreads, 0, kiln::cuda::stream()>>>(a, source_zeroed_draws(a.alpha, a.n),
                                                                        pn);
  } else {
    select_by_rank_kernel<<<grid, kThreads, 0, kiln::cuda::stream()>>>(a, disturbed_count(a.alpha, a.n), pn);
  }
  KILN_LAUNCH_CHECK();
  kiln::cuda::launch(add_noise_kernel<T>, {kiln::cuda::grid_for(a.n * a.width, kThreads), kThreads}, a, pn,
                     targets, out);
}

template void disturb_value<float>(const DisturbValueArgs&, const float*, float*);
template void disturb_value<double>(const DisturbValueArgs&, const double*, double*);

}  // namespace kiln::kernels::cuda
