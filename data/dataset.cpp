// Dataset subsets, device moves and concatenation.
#include "data/dataset.h"

#include "core/autograd.h"
#include "core/ops.h"

namespace kiln {

Dataset Dataset::subset(const std::vector<int64_t>& indices) const {
  NoGradGuard no_grad;
  const Tensor idx = Tensor::from_vector(indices, {static_cast<int64_t>(indices.size())}, inputs.device());
  Dataset out;
  out.inputs = index_select(inputs, idx);
  out.targets = index_select(targets, idx.to(targets.device()));
  out.class_names = class_names;
  return out;
}

Dataset Dataset::head(int64_t n) const {
  n = std::max<int64_t>(0, std::min(n, size()));
  Dataset out;
  out.inputs = inputs.narrow(0, 0, n).clone();
  out.targets = targets.narrow(0, 0, n).clone();
  out.class_names = class_names;
  return out;
}

Dataset Dataset::to(Device device) const {
  return Dataset{inputs.to(device), targets.to(device), class_names};
}

namespace {
Tensor concat_rows(const std::vector<Tensor>& parts, const char* what) {
  KILN_CHECK(!parts.empty(), "concat: no datasets given");
  Shape shape = parts[0].shape();
  int64_t rows = 0;
  for (const Tensor& t : parts) {
    KILN_CHECK(t.dtype() == parts[0].dtype() && t.dim() == parts[0].dim() && t.device() == parts[0].device(),
               "concat: ", what, " differ in dtype, rank or device");
    for (int64_t d = 1; d < t.dim(); ++d)
      KILN_CHECK(t.size(d) == shape[d], "concat: ", what, " shapes ", shape_str(t.shape()), " and ",
                 shape_str(shape), " differ beyond the first dimension");
    rows += t.size(0);
  }
  shape[0] = rows;
  Tensor out = Tensor::empty(shape, parts[0].dtype(), parts[0].device());
  int64_t at = 0;
  for (const Tensor& t : parts) {
    out.narrow(0, at, t.size(0)).copy_(t);
    at += t.size(0);
  }
  return out;
}
}  // namespace

Dataset concat(const std::vector<Dataset>& parts) {
  std::vector<Tensor> inputs, targets;
  for (const Dataset& d : parts) {
    inputs.push_back(d.inputs);
    targets.push_back(d.targets);
  }
  Dataset out;
  out.inputs = concat_rows(inputs, "inputs");
  out.targets = concat_rows(targets, "targets");
  out.class_names = parts.front().class_names;
  return out;
}

}  // namespace kiln
