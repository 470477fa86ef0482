// The NCCL process group: collectives on one GPU per process, queued on kiln's CUDA stream
// like any kernel, so they are ordered with the step's other work and can be captured in the
// step's CUDA graph. NCCL's unique id travels from rank 0 by the host (MPI) group. The
// communicator is non-blocking: every call returns at once and its completion is polled
// against the KILN_DIST_TIMEOUT deadline, so a peer that never joins (at creation or in a
// collective) ends in an error naming the call and the rank; the communicator is then
// aborted rather than left waiting.
#include <nccl.h>

#include <exception>
#include <string>

#include "core/cuda_context.h"
#include "core/error.h"
#include "trainers/distributed/backends.h"

#if NCCL_VERSION_CODE < NCCL_VERSION(2, 14, 0)
#error "kiln needs NCCL 2.14 or newer (non-blocking communicators, ncclAvg)"
#endif

namespace kiln::dist_detail {

namespace {

class NcclProcessGroup final : public ProcessGroup {
 public:
  NcclProcessGroup(ProcessGroup& host, Device device, double timeout_seconds)
      : device_(device), rank_(host.rank()), size_(host.world_size()), timeout_(timeout_seconds) {
    KILN_CHECK(device.is_cuda(), "the nccl process group needs a cuda device, got ", device.str());
    KILN_CHECK(host.carries(Device::cpu()),
               "the nccl process group's unique id travels by a host group; the ", host.backend(),
               " group does not carry host memory");
    select_cuda_device(device.index);
    ncclUniqueId id{};
    if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    host.broadcast(&id, static_cast<int64_t>(sizeof id), 0);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    settle(ncclCommInitRankConfig(&comm_, size_, id, rank_, &config), "ncclCommInitRankConfig");
    scratch_ = Tensor::zeros({1}, DType::Float32, device_);
  }

  ~NcclProcessGroup() override {
    if (comm_ == nullptr) return;
    // Destroy waits for the communicator's work; after a failure that work may never finish,
    // nor when this rank is unwinding from an error of its own (its peers may wait in a
    // collective it will never join): abort then.
    if (failed_ || std::uncaught_exceptions() > 0) {
      ncclCommAbort(comm_);
    } else {
      ncclCommDestroy(comm_);
    }
  }

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  bool carries(Device device) const override { return device == device_; }

  void all_reduce(void* data, int64_t count, DType dtype, ReduceOp op) override {
    check_usable();
    KILN_CHECK(count >= 0, "all_reduce: count must be >= 0, got ", count);
    ncclDataType_t type;
    switch (dtype) {
      case DType::Float32:
        type = ncclFloat32;
        break;
      case DType::Float64:
        type = ncclFloat64;
        break;
      case DType::Int64:
        type = ncclInt64;
        break;
      default:
        KILN_FAIL("all_reduce: ", dtype_name(dtype), " is not supported (float32, float64; int64 for sums)");
    }
    KILN_CHECK(!(dtype == DType::Int64 && op == ReduceOp::Average),
               "all_reduce: int64 is not supported for the average (float32, float64; int64 for sums)");
    const std::string what = detail::concat("all_reduce of ", count, " ", dtype_name(dtype),
                                            op == ReduceOp::Sum ? " (sum)" : " (average)");
    settle(ncclAllReduce(data, data, static_cast<size_t>(count), type,
                         op == ReduceOp::Sum ? ncclSum : ncclAvg, comm_, cuda::stream()),
           what);
  }

  void broadcast(void* data, int64_t bytes, int root) override {
    check_usable();
    KILN_CHECK(bytes >= 0, "broadcast: bytes must be >= 0, got ", bytes);
    KILN_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " is outside [0, ", size_, ")");
    settle(ncclBroadcast(data, data, static_cast<size_t>(bytes), ncclUint8, root, comm_, cuda::stream()),
           detail::concat("broadcast of ", bytes, " bytes from rank ", root));
  }

  // A one-element all-reduce, then a bounded wait for kiln's stream.
  void barrier() override {
    all_reduce(scratch_.raw_data(), 1, DType::Float32, ReduceOp::Sum);
    wait_for_stream("barrier");
  }

  void synchronize() override {
    check_usable();
    wait_for_stream("synchronize");
  }

 private:
  void check(ncclResult_t result, const std::string& what) {
    if (result == ncclSuccess) return;
    failed_ = true;
    KILN_FAIL(what, " failed on rank ", rank_, " of ", size_, " (nccl): ", ncclGetErrorString(result),
              comm_ ? detail::concat(" (", ncclGetLastError(comm_), ")") : std::string());
  }

  void check_usable() const {
    KILN_CHECK(!failed_, "the nccl process group of rank ", rank_,
               " failed earlier; no further collective can run");
  }

  // A non-blocking communicator's call may return ncclInProgress; it is done when the
  // communicator's state leaves ncclInProgress.
  void settle(ncclResult_t result, const std::string& what) {
    if (result != ncclInProgress) return check(result, what);
    Deadline deadline(timeout_);
    for (;;) {
      ncclResult_t state = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &state), what);
      if (state != ncclInProgress) return check(state, what);
      if (deadline.passed()) fail_timeout(what);
      deadline.pause();
    }
  }

  // Waits until kiln's stream has run everything queued so far, the collectives included.
  void wait_for_stream(const std::string& what) {
    Deadline deadline(timeout_);
    for (;;) {
      const cudaError_t status = cudaStreamQuery(cuda::stream());
      if (status == cudaSuccess) return;
      if (status != cudaErrorNotReady) KILN_CUDA_CHECK(status);
      ncclResult_t state = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &state), what);
      if (state != ncclSuccess && state != ncclInProgress) check(state, what);
      if (deadline.passed()) fail_timeout(what);
      deadline.pause();
    }
  }

  [[noreturn]] void fail_timeout(const std::string& what) {
    failed_ = true;
    ncclCommAbort(comm_);  // unblocks the kernels waiting for the missing peer
    comm_ = nullptr;
    KILN_FAIL(timeout_message(what, *this, timeout_));
  }

  Device device_;
  int rank_, size_;
  double timeout_;
  ncclComm_t comm_ = nullptr;
  Tensor scratch_;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<ProcessGroup> make_nccl_process_group(ProcessGroup& host, Device device,
                                                      double timeout_seconds) {
  return std::make_unique<NcclProcessGroup>(host, device, timeout_seconds);
}

}  // namespace kiln::dist_detail
