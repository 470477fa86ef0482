// Shared options and the run context built from them (see common_options.h).
#include "trainers/experiments/common_options.h"

#include <filesystem>

#include "core/autograd.h"
#include "core/file_io.h"
#include "core/generator.h"

namespace kiln {

RunContext make_run_context(const CommonOptions& o, const std::string& command) {
  RunContext ctx{Device::cpu(), o.out.empty() ? "runs/" + command : o.out, o.protocol == "seed",
                 ProgressBar(o.quiet)};
  if (o.device == "auto") {
    ctx.device = cuda_available() ? Device::cuda(0) : Device::cpu();
  } else {
    ctx.device = Device::parse(o.device);
    KILN_CHECK(!ctx.device.is_cuda() || cuda_available(), "--device ", o.device, ": ",
               cuda_built() ? "no CUDA device is available" : "kiln was built without CUDA");
    KILN_CHECK(!ctx.device.is_cuda() || ctx.device.index < cuda_device_count(), "--device ", o.device,
               ": only ", cuda_device_count(), " CUDA device(s)");
  }
  if (ctx.device.is_cuda()) select_cuda_device(ctx.device.index);
  std::error_code ec;
  std::filesystem::create_directories(ctx.out_dir, ec);
  KILN_CHECK(!ec, "cannot create --out directory '", ctx.out_dir, "': ", ec.message());
  try {
    write_file_atomic(ctx.path(".write-test"), std::string("ok"));
    std::filesystem::remove(ctx.path(".write-test"), ec);
  } catch (const Error&) {
    KILN_FAIL("--out directory '", ctx.out_dir, "' is not writable");
  }
  manual_seed(o.seed);
  set_detect_anomaly(o.detect_anomaly);
  install_interrupt_handler();
  return ctx;
}

}  // namespace kiln
