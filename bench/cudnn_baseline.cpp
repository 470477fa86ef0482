// cuDNN behind kiln's kernel contracts (see cudnn_baseline.h). cuDNN is opened with dlopen
// and every function used is resolved once into a table, so the programs that use it start
// (and run everything else) on a machine without it; every call is checked and a failure
// names the cuDNN function, its status and cuDNN's own last message.
#include "bench/cudnn_baseline.h"

#include <cudnn.h>
#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "core/cuda_context.h"
#include "core/error.h"
#include "core/tensor.h"

namespace kiln::cudnn {
namespace {

// Every cuDNN function this file calls (the legacy API, still shipped by cuDNN 9 and
// forwarded by libcudnn.so to its ops and cnn sub-libraries).
#define KILN_CUDNN_FUNCTIONS(X)                     \
  X(cudnnGetVersion)                                \
  X(cudnnGetErrorString)                            \
  X(cudnnGetLastErrorString)                        \
  X(cudnnCreate)                                    \
  X(cudnnSetStream)                                 \
  X(cudnnCreateTensorDescriptor)                    \
  X(cudnnDestroyTensorDescriptor)                   \
  X(cudnnSetTensor4dDescriptor)                     \
  X(cudnnCreateFilterDescriptor)                    \
  X(cudnnDestroyFilterDescriptor)                   \
  X(cudnnSetFilter4dDescriptor)                     \
  X(cudnnCreateConvolutionDescriptor)               \
  X(cudnnDestroyConvolutionDescriptor)              \
  X(cudnnSetConvolution2dDescriptor)                \
  X(cudnnSetConvolutionMathType)                    \
  X(cudnnGetConvolutionForwardAlgorithm_v7)         \
  X(cudnnFindConvolutionForwardAlgorithm)           \
  X(cudnnGetConvolutionForwardWorkspaceSize)        \
  X(cudnnConvolutionForward)                        \
  X(cudnnGetConvolutionBackwardDataAlgorithm_v7)    \
  X(cudnnFindConvolutionBackwardDataAlgorithm)      \
  X(cudnnGetConvolutionBackwardDataWorkspaceSize)   \
  X(cudnnConvolutionBackwardData)                   \
  X(cudnnGetConvolutionBackwardFilterAlgorithm_v7)  \
  X(cudnnFindConvolutionBackwardFilterAlgorithm)    \
  X(cudnnGetConvolutionBackwardFilterWorkspaceSize) \
  X(cudnnConvolutionBackwardFilter)                 \
  X(cudnnConvolutionBackwardBias)                   \
  X(cudnnAddTensor)                                 \
  X(cudnnBatchNormalizationForwardTraining)         \
  X(cudnnBatchNormalizationForwardInference)        \
  X(cudnnBatchNormalizationBackward)

struct Api {
#define KILN_CUDNN_POINTER(name) decltype(&::name) name = nullptr;
  KILN_CUDNN_FUNCTIONS(KILN_CUDNN_POINTER)
#undef KILN_CUDNN_POINTER
  std::string path;     // the file actually loaded
  std::string version;  // "9.19.0"
  std::string error;    // why cuDNN is unavailable; empty when loaded
};

// cudnnGetVersion() is major*10000 + minor*100 + patch from cuDNN 9 on (CMake requires 9).
constexpr size_t kMajorScale = 10000;

Api open_api() {
  Api api;
  const std::string soname = "libcudnn.so." + std::to_string(CUDNN_MAJOR);
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("KILN_CUDNN_LIBRARY"); env != nullptr && *env != '\0') {
    candidates.push_back(env);  // an explicit choice is the only one tried
  } else {
    candidates.push_back(soname);
#ifdef KILN_CUDNN_BUILD_DIR
    // The cuDNN the program was built against, for a run on the build machine whose
    // library path does not name the CUDA library folder.
    candidates.push_back(std::string(KILN_CUDNN_BUILD_DIR) + "/" + soname);
#endif
  }
  void* lib = nullptr;
  std::string tried;
  for (const std::string& candidate : candidates) {
    lib = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib != nullptr) break;
    const char* why = dlerror();
    tried += (tried.empty() ? "" : "; ") + (why ? std::string(why) : candidate);
  }
  if (lib == nullptr) {
    api.error = "cuDNN could not be loaded (name its " + soname +
                " in KILN_CUDNN_LIBRARY or put its folder on LD_LIBRARY_PATH): " + tried;
    return api;
  }
  std::string missing;
#define KILN_CUDNN_RESOLVE(name)                                      \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(lib, #name)); \
  if (api.name == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(#name);
  KILN_CUDNN_FUNCTIONS(KILN_CUDNN_RESOLVE)
#undef KILN_CUDNN_RESOLVE
  Dl_info info{};
  api.path = dladdr(reinterpret_cast<void*>(api.cudnnGetVersion), &info) != 0 && info.dli_fname != nullptr
                 ? info.dli_fname
                 : candidates.front();
  if (!missing.empty()) {
    api.error = "cuDNN library " + api.path + " lacks " + missing;
    return api;
  }
  const size_t v = api.cudnnGetVersion();
  api.version = std::to_string(v / kMajorScale) + "." + std::to_string(v % kMajorScale / 100) + "." +
                std::to_string(v % 100);
  if (v / kMajorScale != CUDNN_MAJOR)
    api.error = "cuDNN library " + api.path + " is version " + api.version + ", built against " +
                std::to_string(CUDNN_MAJOR) + ".x";
  return api;
}

const Api& loaded() {
  static const Api api = open_api();
  return api;
}

const Api& api() {
  const Api& a = loaded();
  KILN_CHECK(a.error.empty(), a.error);
  return a;
}

void check_status(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  char detail[512] = {};
  api().cudnnGetLastErrorString(detail, sizeof detail);
  for (char& ch : detail)
    if (ch == '\n' || ch == '\r') ch = ' ';  // errors are one line
  KILN_FAIL("cuDNN error ", api().cudnnGetErrorString(status), " in ", call, " at ", file, ":", line,
            detail[0] != '\0' ? ": " : "", detail);
}

// Calls cuDNN function `fn` through the loaded table and checks its status.
#define KILN_CUDNN_CALL(fn, ...) check_status(api().fn(__VA_ARGS__), #fn, __FILE__, __LINE__)

// After each cuDNN computation: with KILN_SYNC_LAUNCHES, synchronise and check like every
// kiln launch, so an asynchronous fault is pinned on cuDNN's call rather than the next kiln op.
void after_compute(const char* what) {
  if (!kiln::cuda::sync_launches() || kiln::cuda::is_capturing()) return;
  const cudaError_t err = cudaStreamSynchronize(kiln::cuda::stream());
  if (err != cudaSuccess) kiln::cuda::throw_cuda_error(err, what, __FILE__, __LINE__);
}

// One handle per device, bound to kiln's stream so cuDNN work is ordered with kiln's. Kept
// for the life of the process: destroying it from a static destructor would race the CUDA
// runtime's own teardown.
cudnnHandle_t handle() {
  static std::mutex mutex;
  static std::array<cudnnHandle_t, 64> handles{};
  const int device = kiln::cuda::current_device();
  KILN_CHECK(device >= 0 && device < static_cast<int>(handles.size()), "CUDA device ", device,
             " out of range");
  std::lock_guard<std::mutex> lock(mutex);
  if (handles[device] == nullptr) KILN_CUDNN_CALL(cudnnCreate, &handles[device]);
  KILN_CUDNN_CALL(cudnnSetStream, handles[device], kiln::cuda::stream());
  return handles[device];
}

// cuDNN's 4-d descriptors take int dimensions, each at least 1.
std::array<int, 4> dims(const char* what, int64_t a, int64_t b, int64_t c, int64_t d) {
  const int64_t v[4] = {a, b, c, d};
  std::array<int, 4> out{};
  for (int i = 0; i < 4; ++i) {
    KILN_CHECK(v[i] >= 1 && v[i] <= INT32_MAX, "cuDNN needs every dimension of ", what,
               " in [1, 2^31), got [", a, ", ", b, ", ", c, ", ", d, "]");
    out[i] = static_cast<int>(v[i]);
  }
  return out;
}

struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc(const char* what, int64_t n, int64_t c, int64_t h, int64_t w) {
    const auto v = dims(what, n, c, h, w);
    KILN_CUDNN_CALL(cudnnCreateTensorDescriptor, &d);
    KILN_CUDNN_CALL(cudnnSetTensor4dDescriptor, d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, v[0], v[1], v[2],
                    v[3]);
  }
  ~TensorDesc() { loaded().cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  FilterDesc(const char* what, int64_t k, int64_t c, int64_t r, int64_t s) {
    const auto v = dims(what, k, c, r, s);
    KILN_CUDNN_CALL(cudnnCreateFilterDescriptor, &d);
    KILN_CUDNN_CALL(cudnnSetFilter4dDescriptor, d, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, v[0], v[1], v[2],
                    v[3]);
  }
  ~FilterDesc() { loaded().cudnnDestroyFilterDescriptor(d); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
};

// Cross-correlation (kiln's and PyTorch's "convolution": no kernel flip), fp32 compute.
struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  explicit ConvDesc(const kernels::Conv2dShape& s) {
    KILN_CHECK(s.pad_h >= 0 && s.pad_w >= 0 && s.pad_h <= INT32_MAX && s.pad_w <= INT32_MAX,
               "cuDNN needs padding in [0, 2^31), got ", s.pad_h, "x", s.pad_w);
    const auto stride = dims("the stride", 1, 1, s.stride_h, s.stride_w);
    KILN_CUDNN_CALL(cudnnCreateConvolutionDescriptor, &d);
    KILN_CUDNN_CALL(cudnnSetConvolution2dDescriptor, d, static_cast<int>(s.pad_h), static_cast<int>(s.pad_w),
                    stride[2], stride[3], 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
  }
  ~ConvDesc() { loaded().cudnnDestroyConvolutionDescriptor(d); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  void set_math(cudnnMathType_t math) { KILN_CUDNN_CALL(cudnnSetConvolutionMathType, d, math); }
};

const char* math_name(cudnnMathType_t m) {
  switch (m) {
    case CUDNN_DEFAULT_MATH:
      return "default";
    case CUDNN_TENSOR_OP_MATH:
      return "tensor_op";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION:
      return "tensor_op_conversion";
    case CUDNN_FMA_MATH:
      return "fma";
  }
  return "unknown";
}

const char* algo_name(cudnnConvolutionFwdAlgo_t a) {
  static const char* names[] = {
      "IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
      "WINOGRAD",      "WINOGRAD_NONFUSED"};
  return a >= 0 && a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT ? names[a] : "unknown";
}
const char* algo_name(cudnnConvolutionBwdDataAlgo_t a) {
  static const char* names[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  return a >= 0 && a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT ? names[a] : "unknown";
}
const char* algo_name(cudnnConvolutionBwdFilterAlgo_t a) {
  static const char* names[] = {"ALGO_0",    "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                "FFT_TILING"};
  return a >= 0 && a < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT ? names[a] : "unknown";
}

// GEMM-family algorithms: products of the operands summed in fp32, no transform (see
// AlgoChoice::Reference).
bool gemm_family(cudnnConvolutionFwdAlgo_t a) { return a <= CUDNN_CONVOLUTION_FWD_ALGO_DIRECT; }
bool gemm_family(cudnnConvolutionBwdDataAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}
bool gemm_family(cudnnConvolutionBwdFilterAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
}

// Whether an algorithm's math keeps to the precision asked for: FP32 never runs on tensor
// cores; TF32 may, but never converts fp32 data down to fp16/bf16.
bool math_allowed(cudnnMathType_t m, kernels::ConvPrecision precision) {
  if (precision == kernels::ConvPrecision::FP32) return m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH;
  return m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

// The algorithm `choice` wants from cuDNN's list (timed by Find, or ranked by the heuristics).
template <typename Perf>
Perf pick(const std::vector<Perf>& perfs, kernels::ConvPrecision precision, AlgoChoice choice,
          const char* what, const kernels::Conv2dShape& s) {
  const Perf* fallback = nullptr;
  for (const Perf& p : perfs) {
    if (p.status != CUDNN_STATUS_SUCCESS || !math_allowed(p.mathType, precision)) continue;
    if (choice == AlgoChoice::Fastest || gemm_family(p.algo)) return p;
    if (fallback == nullptr) fallback = &p;
  }
  KILN_CHECK(fallback != nullptr, "cuDNN offers no ", what, " algorithm for x [", s.n, ", ", s.c, ", ", s.h,
             ", ", s.w, "], weight [", s.k, ", ", s.c, ", ", s.r, ", ", s.s, "], stride ", s.stride_h, "x",
             s.stride_w, ", padding ", s.pad_h, "x", s.pad_w);
  return *fallback;
}

template <typename Perf>
std::string describe(const Perf& p, bool gemm_expected) {
  std::string d = std::string(algo_name(p.algo)) + "/" + math_name(p.mathType);
  // A reference that had to fall back to a transform-based algorithm says so.
  if (gemm_expected && !gemm_family(p.algo)) d += " (no GEMM-family algorithm offered)";
  return d;
}

}  // namespace

void load() { (void)api(); }
std::string unavailable_reason() { return loaded().error; }
std::string version() { return api().version; }
std::string library_path() { return api().path; }

// ---- convolution -------------------------------------------------------------------------

struct Conv2d::Plan {
  kernels::Conv2dShape shape;
  TensorDesc x, y, bias;
  FilterDesc w;
  ConvDesc fwd, data, filter;  // one per direction: each carries its own algorithm's math type
  cudnnConvolutionFwdAlgo_t fwd_algo{};
  cudnnConvolutionBwdDataAlgo_t data_algo{};
  cudnnConvolutionBwdFilterAlgo_t filter_algo{};
  std::string fwd_name, data_name, filter_name;
  Tensor workspace;
  size_t workspace_bytes = 0;

  explicit Plan(const kernels::Conv2dShape& s)
      : shape(s),
        x("x", s.n, s.c, s.h, s.w),
        y("y", s.n, s.k, s.p(), s.q()),
        bias("the bias", 1, s.k, 1, 1),
        w("the weight", s.k, s.c, s.r, s.s),
        fwd(s),
        data(s),
        filter(s) {}
};

Conv2d::Conv2d(const kernels::Conv2dShape& s, kernels::ConvPrecision precision, AlgoChoice choice) {
  KILN_CHECK(s.p() >= 1 && s.q() >= 1, "cuDNN convolution: empty output for input ", s.h, "x", s.w,
             ", kernel ", s.r, "x", s.s);
  plan_ = std::make_unique<Plan>(s);
  Plan& p = *plan_;
  cudnnHandle_t h = handle();
  // PyTorch's mapping: allow_tf32 -> CUDNN_DEFAULT_MATH (TF32 permitted on Ampere and
  // later), otherwise CUDNN_FMA_MATH (fp32 FMA kernels only).
  const cudnnMathType_t requested =
      precision == kernels::ConvPrecision::TF32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
  for (ConvDesc* d : {&p.fwd, &p.data, &p.filter}) d->set_math(requested);
  const bool find = choice == AlgoChoice::Fastest;
  const bool reference = choice == AlgoChoice::Reference;
  // Room for every algorithm in each math mode cuDNN may list it under.
  constexpr int kSlots = 4 * CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  int count = 0;
  // After choosing, each direction's descriptor takes the math type cuDNN listed the
  // algorithm under (it may run a different kernel otherwise), except that FP32 stays FMA.
  auto final_math = [&](cudnnMathType_t listed) {
    return precision == kernels::ConvPrecision::FP32 ? CUDNN_FMA_MATH : listed;
  };
  {
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(kSlots);
    if (find)
      KILN_CUDNN_CALL(cudnnFindConvolutionForwardAlgorithm, h, p.x.d, p.w.d, p.fwd.d, p.y.d, kSlots, &count,
                      perfs.data());
    else
      KILN_CUDNN_CALL(cudnnGetConvolutionForwardAlgorithm_v7, h, p.x.d, p.w.d, p.fwd.d, p.y.d, kSlots, &count,
                      perfs.data());
    perfs.resize(count);
    const auto chosen = pick(perfs, precision, choice, "forward", s);
    p.fwd_algo = chosen.algo;
    p.fwd_name = describe(chosen, reference);
    p.fwd.set_math(final_math(chosen.mathType));
    size_t bytes = 0;
    KILN_CUDNN_CALL(cudnnGetConvolutionForwardWorkspaceSize, h, p.x.d, p.w.d, p.fwd.d, p.y.d, p.fwd_algo,
                    &bytes);
    p.workspace_bytes = std::max(p.workspace_bytes, bytes);
  }
  {
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perfs(kSlots);
    if (find)
      KILN_CUDNN_CALL(cudnnFindConvolutionBackwardDataAlgorithm, h, p.w.d, p.y.d, p.data.d, p.x.d, kSlots,
                      &count, perfs.data());
    else
      KILN_CUDNN_CALL(cudnnGetConvolutionBackwardDataAlgorithm_v7, h, p.w.d, p.y.d, p.data.d, p.x.d, kSlots,
                      &count, perfs.data());
    perfs.resize(count);
    const auto chosen = pick(perfs, precision, choice, "backward-data", s);
    p.data_algo = chosen.algo;
    p.data_name = describe(chosen, reference);
    p.data.set_math(final_math(chosen.mathType));
    size_t bytes = 0;
    KILN_CUDNN_CALL(cudnnGetConvolutionBackwardDataWorkspaceSize, h, p.w.d, p.y.d, p.data.d, p.x.d,
                    p.data_algo, &bytes);
    p.workspace_bytes = std::max(p.workspace_bytes, bytes);
  }
  {
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs(kSlots);
    if (find)
      KILN_CUDNN_CALL(cudnnFindConvolutionBackwardFilterAlgorithm, h, p.x.d, p.y.d, p.filter.d, p.w.d, kSlots,
                      &count, perfs.data());
    else
      KILN_CUDNN_CALL(cudnnGetConvolutionBackwardFilterAlgorithm_v7, h, p.x.d, p.y.d, p.filter.d, p.w.d,
                      kSlots, &count, perfs.data());
    perfs.resize(count);
    const auto chosen = pick(perfs, precision, choice, "backward-filter", s);
    p.filter_algo = chosen.algo;
    p.filter_name = describe(chosen, reference);
    p.filter.set_math(final_math(chosen.mathType));
    size_t bytes = 0;
    KILN_CUDNN_CALL(cudnnGetConvolutionBackwardFilterWorkspaceSize, h, p.x.d, p.y.d, p.filter.d, p.w.d,
                    p.filter_algo, &bytes);
    p.workspace_bytes = std::max(p.workspace_bytes, bytes);
  }
  // One workspace for all three directions, from kiln's allocator (so it is stream-ordered
  // with kiln's work like every other buffer).
  if (p.workspace_bytes > 0)
    p.workspace = Tensor::empty({static_cast<int64_t>(p.workspace_bytes)}, DType::UInt8, Device::cuda());
}

Conv2d::~Conv2d() = default;

const std::string& Conv2d::forward_algo() const { return plan_->fwd_name; }
const std::string& Conv2d::backward_input_algo() const { return plan_->data_name; }
const std::string& Conv2d::backward_weight_algo() const { return plan_->filter_name; }

void Conv2d::forward(const float* x, const float* weight, const float* bias, float* y) {
  Plan& p = *plan_;
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t h = handle();
  void* ws = p.workspace_bytes > 0 ? p.workspace.raw_data() : nullptr;
  KILN_CUDNN_CALL(cudnnConvolutionForward, h, &one, p.x.d, x, p.w.d, weight, p.fwd.d, p.fwd_algo, ws,
                  p.workspace_bytes, &zero, p.y.d, y);
  if (bias != nullptr) KILN_CUDNN_CALL(cudnnAddTensor, h, &one, p.bias.d, bias, &one, p.y.d, y);
  after_compute("cuDNN convolution forward");
}

void Conv2d::backward_input(const float* dy, const float* weight, float* dx) {
  Plan& p = *plan_;
  const float one = 1.0f, zero = 0.0f;
  void* ws = p.workspace_bytes > 0 ? p.workspace.raw_data() : nullptr;
  KILN_CUDNN_CALL(cudnnConvolutionBackwardData, handle(), &one, p.w.d, weight, p.y.d, dy, p.data.d,
                  p.data_algo, ws, p.workspace_bytes, &zero, p.x.d, dx);
  after_compute("cuDNN convolution backward-data");
}

void Conv2d::backward_weight(const float* x, const float* dy, float* dweight, float* dbias) {
  Plan& p = *plan_;
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t h = handle();
  void* ws = p.workspace_bytes > 0 ? p.workspace.raw_data() : nullptr;
  KILN_CUDNN_CALL(cudnnConvolutionBackwardFilter, h, &one, p.x.d, x, p.y.d, dy, p.filter.d, p.filter_algo, ws,
                  p.workspace_bytes, &zero, p.w.d, dweight);
  if (dbias != nullptr)
    KILN_CUDNN_CALL(cudnnConvolutionBackwardBias, h, &one, p.y.d, dy, &zero, p.bias.d, dbias);
  after_compute("cuDNN convolution backward-filter");
}

// ---- batch norm --------------------------------------------------------------------------

struct BatchNorm2d::Plan {
  TensorDesc x;                 // [N, C, H*W, 1]: spatial mode normalises over N, H, W alike
  TensorDesc param;             // [1, C, 1, 1] for gamma, beta, means and variances
  Tensor ones, zeros, scratch;  // stand-ins for null gamma / beta and unwanted dgamma / dbeta

  explicit Plan(const kernels::BatchNormShape& s)
      : x("x", s.n, s.c, s.hw, 1),
        param("the per-channel parameters", 1, s.c, 1, 1),
        ones(Tensor::ones({s.c}, DType::Float32, Device::cuda())),
        zeros(Tensor::zeros({s.c}, DType::Float32, Device::cuda())),
        scratch(Tensor::empty({2, s.c}, DType::Float32, Device::cuda())) {}
};

BatchNorm2d::BatchNorm2d(const kernels::BatchNormShape& s) : plan_(std::make_unique<Plan>(s)) {}
BatchNorm2d::~BatchNorm2d() = default;

void BatchNorm2d::forward_train(const float* x, const float* gamma, const float* beta, double eps,
                                double momentum, float* y, float* save_mean, float* save_invstd,
                                float* running_mean, float* running_var) {
  Plan& p = *plan_;
  const float one = 1.0f, zero = 0.0f;
  KILN_CHECK((running_mean == nullptr) == (running_var == nullptr),
             "cuDNN batch norm updates both running statistics or neither");
  KILN_CHECK((save_mean == nullptr) == (save_invstd == nullptr),
             "cuDNN batch norm saves mean and invstd together");
  // cuDNN's exponentialAverageFactor is PyTorch's momentum: r = (1 - f) r + f * batch.
  KILN_CUDNN_CALL(cudnnBatchNormalizationForwardTraining, handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero,
                  p.x.d, x, p.x.d, y, p.param.d, gamma ? gamma : p.ones.data<float>(),
                  beta ? beta : p.zeros.data<float>(), momentum, running_mean, running_var, eps, save_mean,
                  save_invstd);
  after_compute("cuDNN batch norm forward (training)");
}

void BatchNorm2d::forward_eval(const float* x, const float* gamma, const float* beta,
                               const float* running_mean, const float* running_var, double eps, float* y) {
  Plan& p = *plan_;
  const float one = 1.0f, zero = 0.0f;
  KILN_CUDNN_CALL(cudnnBatchNormalizationForwardInference, handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero,
                  p.x.d, x, p.x.d, y, p.param.d, gamma ? gamma : p.ones.data<float>(),
                  beta ? beta : p.zeros.data<float>(), running_mean, running_var, eps);
  after_compute("cuDNN batch norm forward (evaluation)");
}

void BatchNorm2d::backward(const float* dy, const float* x, const float* gamma, const float* save_mean,
                           const float* save_invstd, double eps, float* dx, float* dgamma, float* dbeta) {
  Plan& p = *plan_;
  const float one = 1.0f, zero = 0.0f;
  float* scratch = p.scratch.data<float>();
  const int64_t c = p.scratch.size(1);
  KILN_CUDNN_CALL(cudnnBatchNormalizationBackward, handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one,
                  &zero, p.x.d, x, p.x.d, dy, p.x.d, dx, p.param.d, gamma ? gamma : p.ones.data<float>(),
                  dgamma ? dgamma : scratch, dbeta ? dbeta : scratch + c, eps, save_mean, save_invstd);
  after_compute("cuDNN batch norm backward");
}

}  // namespace kiln::cudnn
