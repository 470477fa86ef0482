// Checkpoints: exact round trip of model, optimizer and training state; a checkpoint of
// another model is refused by name; a save interrupted by a crash leaves the previous file.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>

#include "core/autograd.h"
#include "core/file_io.h"
#include "core/ops.h"
#include "layers/models.h"
#include "tests/support/helpers.h"
#include "trainers/checkpoint.h"

namespace kiln {
namespace {

TEST(Checkpoint, RoundTripsModelOptimizerAndState) {
  testing::TempDir dir;
  manual_seed(3);
  Regressor a;
  auto opt_a = make_adam(a.parameters(), 1e-2);
  for (int i = 0; i < 3; ++i) {
    opt_a->zero_grad();
    sum(square(a(testing::random_normal({8, 13}, 10 + i, DType::Float32)))).backward();
    opt_a->step();
  }
  TrainingState s;
  s.epoch = 7;
  s.seed = 3;
  s.rng_offset = 1234;
  s.best_metric = INFINITY;  // non-finite values survive the JSON metadata
  s.best_epoch = 0;
  s.history = {{1, 0.5, NAN}, {2, 0.25, 0.75}};
  s.scalars["alpha"] = 1e-4;
  save_checkpoint(dir.file("c.ckpt"), "Regressor", a, opt_a.get(), s);

  Regressor b;
  auto opt_b = make_adam(b.parameters(), 1e-2);
  const TrainingState t = load_checkpoint(dir.file("c.ckpt"), "Regressor", b, opt_b.get());
  EXPECT_EQ(t.epoch, 7);
  EXPECT_EQ(t.rng_offset, 1234u);
  EXPECT_TRUE(std::isinf(t.best_metric));
  EXPECT_TRUE(std::isnan(t.history[0][2]));
  EXPECT_EQ(t.history[1][2], 0.75);
  EXPECT_EQ(t.scalars.at("alpha"), 1e-4);
  for (const auto& [name, v] : a.state_dict())
    EXPECT_TRUE(testing::bit_equal(v, b.state_dict().at(name))) << name;
  for (const auto& [name, v] : opt_a->state_dict())
    EXPECT_TRUE(testing::bit_equal(v, opt_b->state_dict().at(name))) << name;
  EXPECT_EQ(opt_b->step_count(), 3);
}

TEST(Checkpoint, ACheckpointOfAnotherModelIsRefusedByName) {
  testing::TempDir dir;
  Regressor a;
  save_checkpoint(dir.file("c.ckpt"), "Regressor", a, nullptr, {});
  MnistNet net;
  try {
    load_checkpoint(dir.file("c.ckpt"), "Net", net, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint of model 'Regressor', but this run trains 'Net'"),
              std::string::npos)
        << e.what();
  }
  write_file_atomic(dir.file("plain.safetensors"), std::string("not a checkpoint at all"));
  EXPECT_THROW(load_checkpoint(dir.file("plain.safetensors"), "Regressor", a, nullptr), Error);
}

TEST(Checkpoint, AKilledSaveLeavesThePreviousCheckpoint) {
  testing::TempDir dir;
  const std::string path = dir.file("last.ckpt");
  manual_seed(4);
  ResNetOptions o;
  o.width = 16;
  ResNet18 model(o);
  TrainingState s;
  s.epoch = 1;
  save_checkpoint(path, "ResNet", model, nullptr, s);
  const auto before = read_file_bytes(path);
  // A child process starts saving epoch 2 and is killed mid-way, many times at random
  // moments; the file on disk must always be the complete epoch-1 checkpoint.
  for (int trial = 0; trial < 20; ++trial) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      TrainingState s2;
      s2.epoch = 2;
      for (;;)
        save_checkpoint(path + ".never", "ResNet", model, nullptr, s2),
            save_checkpoint(path, "ResNet", model, nullptr, s2);
    }
    usleep(1000 * (1 + trial % 7));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Whatever the child managed, `path` is a complete checkpoint (epoch 1 or 2).
    ResNet18 check(o);
    const TrainingState t = load_checkpoint(path, "ResNet", check, nullptr);
    EXPECT_TRUE(t.epoch == 1 || t.epoch == 2);
  }
  EXPECT_GE(remove_stale_temporaries(path), 0);  // leftover temporaries are cleaned up
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find("last.ckpt.tmp."), std::string::npos) << e.path();
  (void)before;
}

}  // namespace
}  // namespace kiln
