// The launcher's environment, the collective deadline, the tensor forms of the collectives,
// the single-process group and the process-wide group (see process_group.h).
#include "trainers/distributed/process_group.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "trainers/distributed/backends.h"

namespace kiln {

namespace {

// A whole decimal integer, or an error naming the variable.
int parse_int_variable(const char* name, const char* value) {
  const std::string text(value);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  KILN_CHECK(
      !text.empty() && end == text.c_str() + text.size() && errno == 0 && v >= INT32_MIN && v <= INT32_MAX,
      name, "=", text, ": expected a whole number");
  return static_cast<int>(v);
}

class SingleProcessGroup final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "single"; }
  bool carries(Device) const override { return true; }
  // The sum and the average of one value are the value itself.
  void all_reduce(void*, int64_t count, DType dtype, ReduceOp op) override {
    KILN_CHECK(count >= 0, "all_reduce: count must be >= 0, got ", count);
    KILN_CHECK(
        dtype == DType::Float32 || dtype == DType::Float64 || (dtype == DType::Int64 && op == ReduceOp::Sum),
        "all_reduce: ", dtype_name(dtype), " is not supported",
        dtype == DType::Int64 ? " for the average" : "", " (float32, float64; int64 for sums)");
  }
  void broadcast(void*, int64_t bytes, int root) override {
    KILN_CHECK(bytes >= 0, "broadcast: bytes must be >= 0, got ", bytes);
    KILN_CHECK(root == 0, "broadcast: root ", root, " is outside [0, 1)");
  }
  void barrier() override {}
};

struct GlobalGroup {
  std::unique_ptr<ProcessGroup> group;
  bool initialised = false;
  bool finalised = false;
  // A program that returns without finalize_process_group still ends MPI: cleanly, unless a
  // collective failed (then every rank is ended, as finalize_process_group(false) would).
  ~GlobalGroup() {
#if KILN_HAS_MPI
    if (initialised && !finalised && group->backend() == "mpi") {
      dist_detail::finalize_mpi_process_group(*group, true);
    }
#endif
  }
};
GlobalGroup& global() {
  static GlobalGroup g;
  return g;
}

}  // namespace

LaunchEnv parse_launch_env(const std::function<const char*(const char*)>& getenv) {
  struct Names {
    const char *size, *rank, *local_rank;
  };
  static const Names kLaunchers[] = {
      {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"},
      {"PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID"},
      {"MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_LOCAL_RANK"},
  };
  LaunchEnv env;
  for (const Names& names : kLaunchers) {
    const char* size = getenv(names.size);
    if (size == nullptr) continue;
    env.variable = names.size;
    env.world_size = parse_int_variable(names.size, size);
    KILN_CHECK(env.world_size >= 1, names.size, "=", size, ": the number of processes must be >= 1");
    const char* rank = getenv(names.rank);
    KILN_CHECK(rank != nullptr, names.size, " is set but ", names.rank, " is not; launch kiln with mpirun");
    env.rank = parse_int_variable(names.rank, rank);
    KILN_CHECK(env.rank >= 0 && env.rank < env.world_size, names.rank, "=", rank, ": outside [0, ",
               env.world_size, ") given by ", names.size);
    if (const char* local = getenv(names.local_rank)) {
      env.local_rank = parse_int_variable(names.local_rank, local);
      KILN_CHECK(env.local_rank >= 0 && env.local_rank < env.world_size, names.local_rank, "=", local,
                 ": outside [0, ", env.world_size, ")");
    }
    return env;
  }
  return env;
}

LaunchEnv launch_env() {
  return parse_launch_env([](const char* name) { return static_cast<const char*>(std::getenv(name)); });
}

double parse_collective_timeout(const char* value) {
  if (value == nullptr || *value == '\0') return kDefaultCollectiveTimeoutSeconds;
  const std::string text(value);
  char* end = nullptr;
  errno = 0;
  const double seconds = std::strtod(text.c_str(), &end);
  KILN_CHECK(end == text.c_str() + text.size() && errno == 0 && std::isfinite(seconds) && seconds > 0,
             "KILN_DIST_TIMEOUT=", text, ": expected a positive number of seconds");
  return seconds;
}

double collective_timeout_seconds() { return parse_collective_timeout(std::getenv("KILN_DIST_TIMEOUT")); }

namespace {
// The work of a collective that finished before all_reduce_async returned.
class FinishedWork final : public CollectiveWork {
 public:
  bool test() override { return true; }
  void wait() override {}
};
}  // namespace

std::unique_ptr<CollectiveWork> ProcessGroup::all_reduce_async(void* data, int64_t count, DType dtype,
                                                               ReduceOp op) {
  all_reduce(data, count, dtype, op);
  return std::make_unique<FinishedWork>();
}

std::string ProcessGroup::describe() const {
  return detail::concat("rank ", rank(), " of ", world_size(), " (", backend(), ")");
}

bool any_rank(ProcessGroup& group, bool flag) {
  if (group.world_size() == 1) return flag;
  int64_t count = flag ? 1 : 0;
  group.all_reduce(&count, 1, DType::Int64, ReduceOp::Sum);
  return count > 0;
}

void ProcessGroup::all_reduce(Tensor& tensor, ReduceOp op) {
  KILN_CHECK(tensor.defined(), "all_reduce: the tensor is undefined");
  KILN_CHECK(tensor.is_contiguous(), "all_reduce: the tensor must be contiguous, got shape ",
             shape_str(tensor.shape()), " with strides ", shape_str(tensor.strides()));
  KILN_CHECK(carries(tensor.device()), "all_reduce: the ", backend(), " process group does not carry ",
             tensor.device().str(), " tensors",
             backend() == "mpi" ? " (MPI carries host memory; GPUs use NCCL)" : "");
  all_reduce(tensor.raw_data(), tensor.numel(), tensor.dtype(), op);
}

void ProcessGroup::broadcast(Tensor& tensor, int root) {
  KILN_CHECK(tensor.defined(), "broadcast: the tensor is undefined");
  KILN_CHECK(tensor.is_contiguous(), "broadcast: the tensor must be contiguous, got shape ",
             shape_str(tensor.shape()), " with strides ", shape_str(tensor.strides()));
  KILN_CHECK(carries(tensor.device()), "broadcast: the ", backend(), " process group does not carry ",
             tensor.device().str(), " tensors");
  broadcast(tensor.raw_data(), static_cast<int64_t>(tensor.nbytes()), root);
}

std::unique_ptr<ProcessGroup> make_single_process_group() { return std::make_unique<SingleProcessGroup>(); }

std::unique_ptr<ProcessGroup> make_nccl_process_group(ProcessGroup& host, Device device) {
#if KILN_HAS_NCCL
  return dist_detail::make_nccl_process_group(host, device, collective_timeout_seconds());
#else
  KILN_FAIL("data-parallel training on ", device.str(), " needs NCCL, and this kiln was built without it",
            cuda_built() ? " (set NCCL_HOME and rebuild)" : " (it has no CUDA backend)");
#endif
}

ProcessGroup& init_process_group() {
  GlobalGroup& g = global();
  if (g.initialised) return *g.group;
  const LaunchEnv env = launch_env();
  if (env.world_size == 1) {
    g.group = make_single_process_group();
  } else {
#if KILN_HAS_MPI
    g.group = dist_detail::make_mpi_process_group(env, collective_timeout_seconds());
#else
    KILN_FAIL("launched as rank ", env.rank, " of ", env.world_size, " processes (", env.variable, "=",
              env.world_size,
              ") but this kiln was built without MPI, so it cannot train data-parallel; "
              "install libopenmpi-dev and rebuild, or run one process");
#endif
  }
  g.initialised = true;
  return *g.group;
}

ProcessGroup& process_group() {
  GlobalGroup& g = global();
  if (!g.group) g.group = make_single_process_group();
  return *g.group;
}

void finalize_process_group(bool success) {
  GlobalGroup& g = global();
  if (!g.initialised || g.finalised) return;
  g.finalised = true;
#if KILN_HAS_MPI
  if (g.group->backend() == "mpi") dist_detail::finalize_mpi_process_group(*g.group, success);
#endif
}

bool mpi_built() { return KILN_HAS_MPI; }
bool nccl_built() { return KILN_HAS_NCCL; }

namespace dist_detail {

std::string timeout_message(const std::string& what, const ProcessGroup& group, double seconds) {
  return detail::concat(what, " on ", group.describe(), " did not finish within ", seconds,
                        " s (KILN_DIST_TIMEOUT): another rank has died, hung or stopped calling collectives");
}

}  // namespace dist_detail

}  // namespace kiln
