// The processes of a data-parallel run and the collectives among them (all-reduce,
// broadcast, barrier), behind one interface with three backends: a single process (every
// collective is the identity, so one process trains exactly as without this file), MPI (host
// memory; the launcher mpirun also gives each process its rank) and NCCL (device memory, on
// kiln's CUDA stream, so a collective can be part of a captured step).
// A collective that does not finish within a deadline (another rank died, hung or stopped
// calling collectives) throws a kiln::Error naming the collective and the rank, instead of
// waiting forever; the group is then broken and finalize_process_group ends every rank.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/device.h"
#include "core/dtype.h"
#include "core/tensor.h"

namespace kiln {

enum class ReduceOp { Sum, Average };

// What the launcher says about this process, read from its environment before MPI starts:
// OpenMPI's OMPI_COMM_WORLD_{SIZE,RANK,LOCAL_RANK}, MPICH/Intel MPI's PMI_{SIZE,RANK}
// (MPI_LOCALRANKID) or MVAPICH's MV2_COMM_WORLD_{SIZE,RANK,LOCAL_RANK}. Without any of them:
// one process, rank 0.
struct LaunchEnv {
  int world_size = 1;
  int rank = 0;
  int local_rank = 0;    // rank among the processes on this machine (which GPU to use)
  std::string variable;  // the size variable that was found ("" when none), for messages
};
// `getenv` looks a variable up (nullptr when unset); throws kiln::Error naming the variable
// when a value is not an integer, the size is < 1 or a rank is outside [0, size).
LaunchEnv parse_launch_env(const std::function<const char*(const char*)>& getenv);
LaunchEnv launch_env();  // from the process environment

// How long a collective may take before it is declared failed: KILN_DIST_TIMEOUT seconds
// (a positive number; default 300). A step of kiln never takes that long, and a rank that
// is checkpointing or evaluating alone is back well within it.
double parse_collective_timeout(const char* value);
double collective_timeout_seconds();
constexpr double kDefaultCollectiveTimeoutSeconds = 300;

// A collective in flight (ProcessGroup::all_reduce_async).
class CollectiveWork {
 public:
  virtual ~CollectiveWork() = default;
  // Lets the collective progress without waiting; true once it has finished.
  virtual bool test() = 0;
  // Returns once it has finished (its result is in the buffer), within the deadline.
  virtual void wait() = 0;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;  // "single", "mpi" or "nccl"
  // Whether the collectives take buffers on `device` (MPI: the host; NCCL: its GPU; the
  // single-process group: any).
  virtual bool carries(Device device) const = 0;

  // In place over `count` contiguous elements of `dtype` (float32, float64; int64 for Sum).
  // Average divides the sum by world_size. NCCL gives every rank the same bits; MPI does with
  // the algorithms OpenMPI picks (the tests check it for two ranks), as ranks that keep
  // identical parameters need.
  virtual void all_reduce(void* data, int64_t count, DType dtype, ReduceOp op) = 0;
  // Starts the same all-reduce and returns at once; `data` must stay untouched until the work
  // has finished. Every rank must start its collectives in the same order. MPI runs it in
  // the background of the calls that follow (test() lets it progress); the single-process
  // group has nothing to do, and NCCL has queued it on the stream when this returns.
  virtual std::unique_ptr<CollectiveWork> all_reduce_async(void* data, int64_t count, DType dtype,
                                                           ReduceOp op);
  // Copies `bytes` bytes at `data` on rank `root` to `data` on every other rank.
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  // Returns when every rank has entered it.
  virtual void barrier() = 0;
  // Returns when this rank's queued collectives have finished (NCCL queues them on kiln's
  // stream; the others finish before they return), within the deadline.
  virtual void synchronize() {}

  // The same on a contiguous tensor on a device this group carries.
  void all_reduce(Tensor& tensor, ReduceOp op);
  void broadcast(Tensor& tensor, int root);

  bool is_root() const { return rank() == 0; }
  // "rank 1 of 4 (mpi)", for messages.
  std::string describe() const;
};

// Whether `flag` is true on any rank: every rank gets the same answer, so a decision that
// one rank takes from its own data (stop now, skip this step) is taken by all of them, and
// their collectives stay in step. One all-reduce; `flag` itself with one process.
bool any_rank(ProcessGroup& group, bool flag);

// The identity collectives of one process.
std::unique_ptr<ProcessGroup> make_single_process_group();

// A group over the processes of `host` (the MPI group) whose collectives run with NCCL on
// `device`, a GPU, on kiln's stream; `host` carries NCCL's unique id from rank 0. Every rank
// calls it. Throws when this kiln was built without NCCL.
std::unique_ptr<ProcessGroup> make_nccl_process_group(ProcessGroup& host, Device device);

// The process group the launcher asked for, created on the first call: one process when
// launched without mpirun (or with one process); MPI otherwise. Throws when launched as
// several processes and this kiln was built without MPI, or when the environment is malformed.
ProcessGroup& init_process_group();
// That group; the single-process group when init_process_group has not been called.
ProcessGroup& process_group();
// Ends the group before the program exits: MPI_Finalize when `success` and no collective
// failed; otherwise ends every rank (MPI_Abort), since the others may be waiting in a
// collective this rank will never join. A no-op for one process.
void finalize_process_group(bool success);

// Whether this kiln can run as several processes (built with MPI) and on GPUs (with NCCL).
bool mpi_built();
bool nccl_built();

}  // namespace kiln
