// Timing for the benchmarks: CUDA work is timed with events on kiln's stream (after a
// warm-up, so module loading and allocator misses stay out), CPU work with a steady clock;
// the median of repeated measurements is reported. Every benchmark calls the same function
// the library calls.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <vector>

#include "core/device.h"
#if KILN_HAS_CUDA
#include "core/cuda_context.h"
#endif

namespace kiln::bench {

// The flags every benchmark program takes: [--device cuda|cpu] [--quick] [--repeats N]. The
// device defaults to CUDA when one is available; repeats 0 leaves each program its default.
struct Args {
  Device device = Device::cpu();
  bool quick = false;
  int repeats = 0;
};
// A bad or unavailable --device ends the program with a one-line error (exit status 2).
inline Args parse_args(int argc, char** argv) {
  Args a;
  a.device = cuda_available() ? Device::cuda() : Device::cpu();
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) a.quick = true;
    if (!std::strcmp(argv[i], "--repeats")) {
      a.repeats = i + 1 < argc ? std::atoi(argv[++i]) : 0;
      if (a.repeats < 1) {
        std::fprintf(stderr, "%s: --repeats needs a positive count\n", argv[0]);
        std::exit(2);
      }
    }
    if (!std::strcmp(argv[i], "--device")) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: --device needs a value (cpu or cuda)\n", argv[0]);
        std::exit(2);
      }
      try {
        a.device = Device::parse(argv[++i]);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: --device: %s\n", argv[0], e.what());
        std::exit(2);
      }
      if (a.device.is_cuda() && !cuda_available()) {
        std::fprintf(stderr, "%s: --device %s: no CUDA device is available on this machine\n", argv[0],
                     argv[i]);
        std::exit(2);
      }
    }
  }
  return a;
}

// The fastest of the repeats timed by the last median_ms call: on a machine shared with other
// work, interference only ever adds time, so the minimum is the steadier estimate.
inline double& last_min_ms() {
  static double value = 0;
  return value;
}

// Median milliseconds of one call of `fn` on `device`.
inline double median_ms(Device device, const std::function<void()>& fn, int warmup = 3, int repeats = 20) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
#if KILN_HAS_CUDA
  if (device.is_cuda()) {
    cudaEvent_t a, b;
    KILN_CUDA_CHECK(cudaEventCreate(&a));
    KILN_CUDA_CHECK(cudaEventCreate(&b));
    for (int i = 0; i < repeats; ++i) {
      KILN_CUDA_CHECK(cudaEventRecord(a, cuda::stream()));
      fn();
      KILN_CUDA_CHECK(cudaEventRecord(b, cuda::stream()));
      KILN_CUDA_CHECK(cudaEventSynchronize(b));
      float t = 0;
      KILN_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
      ms.push_back(t);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
#endif
  if (device.is_cpu()) {
    for (int i = 0; i < repeats; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      fn();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::sort(ms.begin(), ms.end());
  last_min_ms() = ms.empty() ? 0.0 : ms.front();
  return ms.empty() ? 0.0 : ms[ms.size() / 2];
}

}  // namespace kiln::bench
