// Commands whose tutorial code leaves nothing for --protocol seed to reproduce differently
// (label-smoothing, batchnorm, weighted-loss): their help says so, a seed-protocol run says so
// in its output and notes (weighted-loss naming the tutorial's NameError), and it trains
// exactly what the default protocol trains: the logs agree in every column but the time.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/support/helpers.h"
#include "tests/support/synthetic_data.h"
#include "tests/support/training_log.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/batchnorm.h"
#include "trainers/experiments/label_smoothing.h"
#include "trainers/experiments/weighted_loss.h"

namespace kiln {
namespace {

using testing::mentions;
using testing::training_log_rows;

class ProtocolUnchanged : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_mnist(data_.path(), 400, 20); }
  void tiny(CommonOptions& c, const std::string& out, const std::string& protocol) const {
    testing::tiny_mnist_run(c, data_.path(), out, 9);
    c.protocol = protocol;
  }
  // Runs `run` with each protocol and checks the note, the printed line and identical logs.
  template <typename Options>
  void check(Options o, ExperimentResult (*run)(const Options&), const std::vector<std::string>& logs,
             const std::vector<std::string>& why) {
    tiny(o.common, out_.file("default"), "default");
    const ExperimentResult plain = run(o);
    EXPECT_EQ(plain.notes.find("--protocol seed"), std::string::npos) << plain.notes;
    tiny(o.common, out_.file("seed"), "seed");
    ::testing::internal::CaptureStdout();
    const ExperimentResult seed = run(o);
    std::fflush(stdout);
    const std::string printed = ::testing::internal::GetCapturedStdout();
    std::vector<std::string> parts = {"--protocol seed changes nothing here", "kiln's default protocol"};
    parts.insert(parts.end(), why.begin(), why.end());
    EXPECT_TRUE(mentions(seed.notes, parts));
    EXPECT_TRUE(mentions(printed, parts));
    EXPECT_EQ(seed.kiln_figure, plain.kiln_figure);
    for (const std::string& name : logs) {
      const auto a = training_log_rows(out_.file("default") + "/" + name + "_log.csv");
      const auto b = training_log_rows(out_.file("seed") + "/" + name + "_log.csv");
      ASSERT_EQ(a.size(), b.size()) << name;
      for (size_t i = 0; i < a.size(); ++i)
        for (size_t c = 0; c < 5; ++c) {  // every column but the wall time
          if (!std::isnan(a[i][c])) {
            EXPECT_EQ(a[i][c], b[i][c]) << name << " row " << i << " column " << c;
          }
        }
    }
  }
  testing::TempDir data_, out_;
};

TEST_F(ProtocolUnchanged, LabelSmoothing) {
  check(label_smoothing_defaults(), run_label_smoothing, {"plain_ce", "label_smoothing"}, {"trains nothing"});
}

TEST_F(ProtocolUnchanged, BatchNorm) {
  check(batchnorm_defaults(), run_batchnorm, {"batchnorm", "no_batchnorm"}, {"no code to reproduce"});
}

TEST_F(ProtocolUnchanged, WeightedLossAndTheTutorialsNameError) {
  // --limit 32 (from tiny()) scales the tutorial's class counts to about 32 samples.
  check(weighted_loss_defaults(), run_weighted_loss, {"plain_ce", "weighted_ce"},
        {"NameError", "class_weights", "class_weight)"});
}

TEST(ProtocolUnchangedHelp, TheHelpOfEachCommandSaysSo) {
  CLI::App app;
  add_label_smoothing_command(app);
  add_batchnorm_command(app);
  add_weighted_loss_command(app);
  for (const char* name : {"label-smoothing", "batchnorm", "weighted-loss"}) {
    const std::string help = app.get_subcommand(name)->get_option("--protocol")->get_description();
    EXPECT_TRUE(mentions(help, {"--protocol seed changes nothing here"})) << name;
  }
  EXPECT_TRUE(mentions(app.get_subcommand("weighted-loss")->get_option("--protocol")->get_description(),
                       {"NameError"}));
}

}  // namespace
}  // namespace kiln
