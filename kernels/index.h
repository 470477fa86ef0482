// Contract of row gathering (batch assembly, index_select) and its adjoint.
//  - index_select_rows: out[i, :] = src[index[i], :] for i < count; src is [rows, row_size]
//    contiguous; out is assigned.
//  - index_add_rows: dst[index[i], :] += src[i, :] (accumulates; duplicates add up).
// An index outside [0, rows) is an error: the CPU throws kiln::Error naming it; CUDA kernels
// skip the row and raise the device error flag (core/cuda_context.h), reported at the next
// check_device_errors().
#pragma once

#include <cstdint>

namespace kiln::kernels {

namespace cpu {
template <typename T>
void index_select_rows(const T* src, const int64_t* index, T* out, int64_t count, int64_t rows,
                       int64_t row_size);
template <typename T>
void index_add_rows(const T* src, const int64_t* index, T* dst, int64_t count, int64_t rows,
                    int64_t row_size);
}  // namespace cpu

namespace cuda {
template <typename T>
void index_select_rows(const T* src, const int64_t* index, T* out, int64_t count, int64_t rows,
                       int64_t row_size);
template <typename T>
void index_add_rows(const T* src, const int64_t* index, T* dst, int64_t count, int64_t rows,
                    int64_t row_size);
}  // namespace cuda

}  // namespace kiln::kernels
