// What the data-parallel tests (kiln_dist_tests, under mpirun) check about the replicas.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "tests/support/helpers.h"
#include "trainers/distributed/process_group.h"

namespace kiln::testing {

// Whether every rank holds exactly rank 0's values (the same answer on every rank).
inline bool same_on_every_rank(ProcessGroup& group, const std::vector<Tensor>& params) {
  int64_t differ = 0;
  for (const Tensor& p : params) {
    Tensor root = p.clone();
    group.broadcast(root, 0);
    differ += !bit_equal(p, root);
  }
  group.all_reduce(&differ, 1, DType::Int64, ReduceOp::Sum);
  return differ == 0;
}

}  // namespace kiln::testing
