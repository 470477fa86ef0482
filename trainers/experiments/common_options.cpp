// Shared options and the run context built from them (see common_options.h).
#include "trainers/experiments/common_options.h"

#include <filesystem>

#include "core/autograd.h"
#include "core/file_io.h"
#include "core/generator.h"

namespace kiln {

RunContext make_run_context(const CommonOptions& o, const std::string& command) {
  ProcessGroup& group = init_process_group();
  const bool root = group.is_root();
  // The other ranks print nothing (the program sends their output away): one progress bar.
  RunContext ctx;
  ctx.out_dir = o.out.empty() ? "runs/" + command : o.out;
  ctx.tutorial_protocol = o.protocol == "seed";
  ctx.progress = ProgressBar(o.quiet || !root);
  ctx.group = &group;
  if (o.device == "auto") {
    ctx.device = cuda_available() ? Device::cuda(0) : Device::cpu();
  } else {
    ctx.device = Device::parse(o.device);
    KILN_CHECK(!ctx.device.is_cuda() || cuda_available(), "--device ", o.device, ": ",
               cuda_built() ? "no CUDA device is available" : "kiln was built without CUDA");
    KILN_CHECK(!ctx.device.is_cuda() || ctx.device.index < cuda_device_count(), "--device ", o.device,
               ": only ", cuda_device_count(), " CUDA device(s)");
  }
  // The ranks must agree on where they train: the CUDA ranks would join NCCL, the others not.
  const bool cuda = ctx.device.is_cuda();
  KILN_CHECK(!(any_rank(group, cuda) && any_rank(group, !cuda)), "--device ", o.device,
             ": some ranks train on ", "CUDA and others on the CPU (", group.describe(), " has ",
             cuda ? ctx.device.str() : "no GPU", "); give every rank a GPU, or pass --device cpu");
  if (ctx.device.is_cuda() && group.world_size() > 1) {
    // One GPU per process: the launcher's local rank picks it, as torchrun's LOCAL_RANK does.
    const int local_rank = launch_env().local_rank;
    KILN_CHECK(local_rank < cuda_device_count(), group.describe(), " is process ", local_rank,
               " on its machine, which has only ", cuda_device_count(),
               " CUDA device(s): start at most one process per GPU");
    ctx.device = Device::cuda(local_rank);
  }
  if (ctx.device.is_cuda()) select_cuda_device(ctx.device.index);
  if (ctx.device.is_cuda() && group.world_size() > 1)
    ctx.device_group = make_nccl_process_group(group, ctx.device);
  if (root) {
    std::error_code ec;
    std::filesystem::create_directories(ctx.out_dir, ec);
    KILN_CHECK(!ec, "cannot create --out directory '", ctx.out_dir, "': ", ec.message());
    try {
      write_file_atomic(ctx.path(".write-test"), std::string("ok"));
      std::filesystem::remove(ctx.path(".write-test"), ec);
    } catch (const Error&) {
      KILN_FAIL("--out directory '", ctx.out_dir, "' is not writable");
    }
  }
  manual_seed(o.seed);
  set_detect_anomaly(o.detect_anomaly);
  install_interrupt_handler();
  return ctx;
}

}  // namespace kiln
