// Contract of the random fill kernels. Element i of a fill with (seed, offset) takes its
// bits from Philox as defined in core/philox.h, so the CPU and CUDA versions write the same
// values bit for bit (normals via core/random_math.h). `out` is contiguous and assigned.
#pragma once

#include <cstdint>

namespace kiln::kernels {

// The values prepare_replay writes into a captured step's generator cells
// (core/random_capture.h); passed by value so the CUDA write needs no host buffer.
struct OffsetCells {
  uint64_t values[8] = {};
  int count = 0;
};

namespace cpu {
void write_offset_cells(uint64_t* cells, const OffsetCells& v);
template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high);
template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double stddev);
}  // namespace cpu

namespace cuda {
void write_offset_cells(uint64_t* cells, const OffsetCells& v);  // queued on kiln's stream
template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high);
template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double stddev);
}  // namespace cuda

}  // namespace kiln::kernels
