// The `kiln` program: help texts, and bad input (unknown command or flag, out-of-range value,
// missing dataset, unwritable --out) giving one line on stderr and a non-zero exit.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/support/helpers.h"

namespace kiln {
namespace {

struct ProgramRun {
  int status;
  std::string out, err;
};

ProgramRun run(const std::string& args) {
  testing::TempDir dir;
  const std::string cmd =
      testing::kiln_binary() + " " + args + " >" + dir.file("out") + " 2>" + dir.file("err");
  const int raw = std::system(cmd.c_str());
  auto slurp = [](const std::string& path) {
    std::string s;
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      std::array<char, 4096> buf;
      size_t n;
      while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) s.append(buf.data(), n);
      std::fclose(f);
    }
    return s;
  };
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(dir.file("out")), slurp(dir.file("err"))};
}

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(Cli, HelpListsEveryCommandAndFlagDefaults) {
  const ProgramRun top = run("--help");
  EXPECT_EQ(top.status, 0);
  for (const char* c :
       {"early-stopping", "disturb-label", "disturb-value", "label-smoothing", "weighted-sampling",
        "weighted-loss", "confusion-matrix", "pseudo-label", "batchnorm"})
    EXPECT_NE(top.out.find(c), std::string::npos) << c;
  const ProgramRun sub = run("early-stopping --help");
  EXPECT_EQ(sub.status, 0);
  // Each training command names the network it trains.
  EXPECT_NE(sub.out.find("the author's CIFAR ResNet-18"), std::string::npos) << sub.out;
  for (const char* c : {"disturb-label", "label-smoothing", "batchnorm", "weighted-loss"}) {
    const ProgramRun h = run(std::string(c) + " --help");
    EXPECT_NE(h.out.find("torchvision-style ResNet-18"), std::string::npos) << c << "\n" << h.out;
  }
  EXPECT_NE(run("disturb-value --help").out.find("Regressor"), std::string::npos);
  EXPECT_NE(run("pseudo-label --help").out.find("Net"), std::string::npos);
  EXPECT_NE(sub.out.find("--epochs INT:INT in [1 - 100000]=51"), std::string::npos) << sub.out;
  EXPECT_NE(sub.out.find("--protocol"), std::string::npos);
  EXPECT_NE(sub.out.find("--no-graph"), std::string::npos);
}

TEST(Cli, BadInputIsOneLineAndNonZero) {
  testing::TempDir dir;
  const std::string cases[] = {
      "no-such-command",
      "early-stopping --no-such-flag",
      "early-stopping --epochs -3",
      "early-stopping --protocol fancy",
      "early-stopping --dataset cifar10 --out " + dir.file("o"),
      "early-stopping --dataset mnist --data-dir /nonexistent --out " + dir.file("o"),
      "early-stopping --device cuda:7 --out " + dir.file("o"),
      "early-stopping --out /proc/kiln-cannot-write",
  };
  for (const std::string& args : cases) {
    const ProgramRun r = run(args + " --quiet");
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("kiln: error: ", 0), 0u) << args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace kiln

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "data/csv.h"
#include "layers/models.h"
#include "tests/support/synthetic_data.h"
#include "trainers/checkpoint.h"

namespace kiln {
namespace {

class CliTraining : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_mnist(data_.path(), 120, 20); }
  std::string base(const std::string& out) const {
    return "early-stopping --dataset mnist --data-dir " + data_.path() +
           " --device cpu --quiet --seed 3 --limit 60 --out " + out;
  }
  testing::TempDir data_, out_;
};

// Two training logs agree in every column but the wall time.
void expect_same_log(const std::string& path_a, const std::string& path_b, int64_t rows) {
  const Table a = read_csv_table(path_a, true);
  const Table b = read_csv_table(path_b, true);
  ASSERT_EQ(a.rows(), rows);
  ASSERT_EQ(b.rows(), rows);
  const int64_t seconds = a.column_index("seconds");
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t c = 0; c < static_cast<int64_t>(a.columns.size()); ++c)
      if (c != seconds) {
        EXPECT_EQ(b.values[i * a.columns.size() + c], a.values[i * a.columns.size() + c])
            << i << " " << a.columns[c];
      }
}

TEST_F(CliTraining, ResumeInAFreshProcessMatchesAnUninterruptedRun) {
  ASSERT_EQ(run(base(out_.file("a")) + " --epochs 3").status, 0);
  ASSERT_EQ(run(base(out_.file("b")) + " --epochs 2").status, 0);
  const ProgramRun resumed =
      run(base(out_.file("b")) + " --epochs 3 --resume " + out_.file("b") + "/early_stopping_last.ckpt");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  expect_same_log(out_.file("a") + "/early_stopping_log.csv", out_.file("b") + "/early_stopping_log.csv", 3);
}

TEST_F(CliTraining, GraphedAndEagerRunsWriteTheSameLog) {
  // On a GPU the default replays captured steps; --no-graph runs them eagerly. On the CPU both
  // run eagerly, and the flag must still be accepted.
  std::string args = base(out_.file("graph")) + " --epochs 2";
  if (cuda_available()) args.replace(args.find("--device cpu"), 12, "--device cuda");
  ASSERT_EQ(run(args).status, 0);
  std::string eager = args + " --no-graph";
  eager.replace(eager.find(out_.file("graph")), out_.file("graph").size(), out_.file("eager"));
  const ProgramRun r = run(eager);
  ASSERT_EQ(r.status, 0) << r.err;
  expect_same_log(out_.file("graph") + "/early_stopping_log.csv",
                  out_.file("eager") + "/early_stopping_log.csv", 2);
}

TEST_F(CliTraining, CtrlCStopsBetweenEpochsAndKeepsACompleteCheckpointAndLog) {
  const std::string out = out_.file("int");
  const std::string cmd =
      testing::kiln_binary() + " " + base(out) + " --epochs 1000 >/dev/null 2>" + out_.file("err");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Let it train a few epochs, then press Ctrl-C.
  const std::string log = out + "/early_stopping_log.csv";
  for (int i = 0; i < 600 && !std::filesystem::exists(log); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::this_thread::sleep_for(std::chrono::seconds(4));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  // The log and the checkpoint describe the same completed epochs.
  const Table t = read_csv_table(log, true);
  ASSERT_GE(t.rows(), 1);
  CifarResNetOptions o;
  o.in_channels = 1;
  CifarResNet18 model(o);
  const TrainingState s =
      load_checkpoint(out + "/early_stopping_last.ckpt", "CifarResNet18(in=1, classes=10)", model, nullptr);
  EXPECT_EQ(static_cast<int64_t>(s.history.size()), t.rows());
  EXPECT_EQ(s.epoch, t.rows());
  for (const auto& e : std::filesystem::directory_iterator(out))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

}  // namespace
}  // namespace kiln
