// The MPI process group: collectives on host memory over MPI_COMM_WORLD's processes.
// Errors come back as return codes (MPI_ERRORS_RETURN) and become kiln::Errors, instead of
// MPI's default of ending the job without a word from kiln. Every collective is started
// non-blocking and polled against the KILN_DIST_TIMEOUT deadline, so a rank that died or hung
// is reported within a bounded time, naming the collective and the rank.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "trainers/distributed/backends.h"

namespace kiln::dist_detail {

namespace {

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

// MPI counts are ints: larger buffers go in pieces of at most 2^30 elements.
constexpr int64_t kMaxPiece = int64_t{1} << 30;

class MpiProcessGroup final : public ProcessGroup {
 public:
  MpiProcessGroup(const LaunchEnv& env, double timeout_seconds) : timeout_(timeout_seconds) {
    int initialised = 0;
    check(MPI_Initialized(&initialised), "MPI_Initialized");
    if (!initialised) {
      // Only the main thread calls MPI; OpenMP's workers never do.
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    }
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    // A communicator of kiln's own, so no library sharing the process can match its messages.
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    KILN_CHECK(rank_ == env.rank && size_ == env.world_size, "MPI reports rank ", rank_, " of ", size_,
               " but the launcher's environment says rank ", env.rank, " of ", env.world_size, " (",
               env.variable, "); launch kiln with the mpirun of the MPI it was built with");
  }

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  bool carries(Device device) const override { return device.is_cpu(); }

  void all_reduce(void* data, int64_t count, DType dtype, ReduceOp op) override {
    all_reduce_async(data, count, dtype, op)->wait();
  }

  std::unique_ptr<CollectiveWork> all_reduce_async(void* data, int64_t count, DType dtype,
                                                   ReduceOp op) override;

  void broadcast(void* data, int64_t bytes, int root) override {
    check_usable();
    KILN_CHECK(bytes >= 0, "broadcast: bytes must be >= 0, got ", bytes);
    KILN_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " is outside [0, ", size_, ")");
    const std::string what = detail::concat("broadcast of ", bytes, " bytes from rank ", root);
    auto* p = static_cast<char*>(data);
    for (int64_t start = 0; start < bytes; start += kMaxPiece) {
      const int piece = static_cast<int>(std::min(kMaxPiece, bytes - start));
      MPI_Request request = MPI_REQUEST_NULL;
      check(MPI_Ibcast(p + start, piece, MPI_BYTE, root, comm_, &request), what);
      wait(request, what);
    }
  }

  void barrier() override {
    check_usable();
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ibarrier(comm_, &request), "barrier");
    wait(request, "barrier");
  }

  bool failed() const { return failed_; }
  MPI_Comm comm() const { return comm_; }

 private:
  friend class MpiWork;

  void check(int code, const std::string& what) {
    if (code == MPI_SUCCESS) return;
    failed_ = true;
    KILN_FAIL(what, " failed on rank ", rank_, " of ", size_, " (mpi): ", mpi_error_string(code));
  }

  void check_usable() const {
    KILN_CHECK(!failed_, "the mpi process group of rank ", rank_,
               " failed in an earlier collective; no further "
               "collective can run");
  }

  // Polls `request` until it completes or the deadline passes. A collective cannot be
  // cancelled, so after a timeout the group is broken: later collectives refuse to start and
  // finalize ends every rank.
  void wait(MPI_Request& request, const std::string& what) {
    Deadline deadline(timeout_);
    for (;;) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
      if (done) return;
      if (deadline.passed()) {
        failed_ = true;
        KILN_FAIL(timeout_message(what, *this, timeout_));
      }
      deadline.pause();
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  double timeout_;
  bool failed_ = false;
};

// An all-reduce in flight: its requests (one per piece of at most 2^30 elements), and the
// division an average needs once the sum has arrived.
class MpiWork final : public CollectiveWork {
 public:
  MpiWork(MpiProcessGroup& group, std::string what, void* data, int64_t count, DType dtype, ReduceOp op)
      : group_(group), what_(std::move(what)), data_(data), count_(count), dtype_(dtype), op_(op) {}
  ~MpiWork() override {
    // A collective cannot be cancelled: abandoned before it finished, it leaves the group unusable.
    if (!finished_) group_.failed_ = true;
  }

  void start(MPI_Datatype type) {
    auto* bytes = static_cast<char*>(data_);
    for (int64_t start = 0; start < count_; start += kMaxPiece) {
      const int piece = static_cast<int>(std::min(kMaxPiece, count_ - start));
      requests_.push_back(MPI_REQUEST_NULL);
      group_.check(MPI_Iallreduce(MPI_IN_PLACE, bytes + start * static_cast<int64_t>(dtype_size(dtype_)),
                                  piece, type, MPI_SUM, group_.comm_, &requests_.back()),
                   what_);
    }
    if (requests_.empty()) finish();
  }

  bool test() override {
    if (finished_) return true;
    int done = 0;
    group_.check(
        MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE), what_);
    if (done) finish();
    return finished_;
  }

  void wait() override {
    Deadline deadline(group_.timeout_);
    while (!test()) {
      if (deadline.passed()) {
        group_.failed_ = true;
        finished_ = true;  // abandoned: the destructor has nothing more to record
        KILN_FAIL(timeout_message(what_, group_, group_.timeout_));
      }
      deadline.pause();
    }
  }

 private:
  void finish() {
    finished_ = true;
    if (op_ != ReduceOp::Average) return;
    // A division rather than a multiplication by 1/size: correctly rounded for any size,
    // and the same bits on every rank, which all hold the same sum.
    if (dtype_ == DType::Float32) {
      auto* v = static_cast<float*>(data_);
      const auto n = static_cast<float>(group_.size_);
      for (int64_t i = 0; i < count_; ++i) v[i] /= n;
    } else {
      auto* v = static_cast<double*>(data_);
      const auto n = static_cast<double>(group_.size_);
      for (int64_t i = 0; i < count_; ++i) v[i] /= n;
    }
  }

  MpiProcessGroup& group_;
  std::string what_;
  void* data_;
  int64_t count_;
  DType dtype_;
  ReduceOp op_;
  std::vector<MPI_Request> requests_;
  bool finished_ = false;
};

std::unique_ptr<CollectiveWork> MpiProcessGroup::all_reduce_async(void* data, int64_t count, DType dtype,
                                                                  ReduceOp op) {
  check_usable();
  KILN_CHECK(count >= 0, "all_reduce: count must be >= 0, got ", count);
  MPI_Datatype type = MPI_DATATYPE_NULL;
  switch (dtype) {
    case DType::Float32:
      type = MPI_FLOAT;
      break;
    case DType::Float64:
      type = MPI_DOUBLE;
      break;
    case DType::Int64:
      type = MPI_INT64_T;
      break;
    default:
      break;
  }
  KILN_CHECK(type != MPI_DATATYPE_NULL && !(dtype == DType::Int64 && op == ReduceOp::Average),
             "all_reduce: ", dtype_name(dtype), " is not supported",
             dtype == DType::Int64 ? " for the average" : "", " (float32, float64; int64 for sums)");
  auto work = std::make_unique<MpiWork>(*this,
                                        detail::concat("all_reduce of ", count, " ", dtype_name(dtype),
                                                       op == ReduceOp::Sum ? " (sum)" : " (average)"),
                                        data, count, dtype, op);
  work->start(type);
  return work;
}

}  // namespace

std::unique_ptr<ProcessGroup> make_mpi_process_group(const LaunchEnv& env, double timeout_seconds) {
  return std::make_unique<MpiProcessGroup>(env, timeout_seconds);
}

void finalize_mpi_process_group(ProcessGroup& group, bool success) {
  auto& mpi = dynamic_cast<MpiProcessGroup&>(group);
  if (success && !mpi.failed()) {
    MPI_Comm comm = mpi.comm();
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return;
  }
  // The other ranks may be inside a collective this one will never join: end them all.
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

}  // namespace kiln::dist_detail
