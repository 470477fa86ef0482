// `kiln weighted-sampling` end to end: on a 12 + 3 image folder the test writes, the weighted
// loader's class shares over many epochs are 50/50 within a bound derived from the binomial
// distribution and the shuffled loader's are exactly the folder's; the printed output has the
// tutorial's form; without --data-dir the command builds the tutorial's 4 + 14 folder.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>

#include "core/file_io.h"
#include "data/image_folder.h"
#include "tests/support/helpers.h"
#include "trainers/experiments/datasets.h"
#include "trainers/experiments/weighted_sampling.h"

namespace kiln {
namespace {

// class_counts.csv: one row per class (class, images, weighted_count, shuffled_count,
// weighted_fraction, shuffled_fraction).
std::vector<std::vector<double>> read_counts(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::string line, field;
  std::getline(in, line);
  EXPECT_EQ(line, "class,images,weighted_count,shuffled_count,weighted_fraction,shuffled_fraction");
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<double> row;
    while (std::getline(fields, field, ',')) row.push_back(std::stod(field));
    EXPECT_EQ(row.size(), 6u) << line;
    rows.push_back(row);
  }
  return rows;
}

size_t count_files(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n += e.path().extension() == ".png";
  return n;
}

class WeightedSamplingCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    // "big" sorts before "small": class 0 has 12 images, class 1 has 3.
    for (const auto& [name, count] : {std::pair<std::string, int>{"big", 12}, {"small", 3}}) {
      std::filesystem::create_directories(folder_ + "/" + name);
      for (int i = 0; i < count; ++i) {
        std::vector<uint8_t> px(3 * 8 * 8, static_cast<uint8_t>(20 * i));
        write_png_rgb(folder_ + "/" + name + "/" + std::to_string(i) + ".png", px.data(), 8, 8);
      }
    }
  }
  WeightedSamplingOptions options(const std::string& out) const {
    WeightedSamplingOptions o = weighted_sampling_defaults();
    o.common.data_dir = folder_;
    o.common.device = "cpu";
    o.common.out = out;
    o.common.seed = 7;
    o.count_epochs = 2000;
    return o;
  }
  testing::TempDir dir_;
  std::string folder_ = dir_.file("folder");
};

TEST_F(WeightedSamplingCommand, DefaultsAreTheTutorialsProtocol) {
  const WeightedSamplingOptions o = weighted_sampling_defaults();
  EXPECT_EQ(o.common.epochs, 3);
  EXPECT_EQ(o.common.batch_size, 6);
  EXPECT_EQ(o.image_size, 16);
}

TEST_F(WeightedSamplingCommand, WeightedIsBalancedAndShuffledKeepsTheFolderRatio) {
  const std::string out = dir_.file("run");
  ::testing::internal::CaptureStdout();
  const ExperimentResult r = run_weighted_sampling(options(out));
  const std::string printed = ::testing::internal::GetCapturedStdout();

  // The weights as torch prints them: 12 x 1/12 then 3 x 1/3, nine to a line, the dtype on
  // the last line when it fits.
  EXPECT_NE(printed.find("tensor([0.0833, 0.0833, 0.0833, 0.0833, 0.0833, 0.0833, 0.0833, 0.0833, 0.0833,\n"
                         "        0.0833, 0.0833, 0.0833, 0.3333, 0.3333, 0.3333], dtype=torch.float64)"),
            std::string::npos)
      << printed;
  // 3 epochs x 3 batches (6, 6, 3) for each loader, each printed like the tutorial.
  const std::regex batch(R"(^tensor\(\[[01](, [01])*\]\)$)");
  int batches = 0;
  std::istringstream lines(printed);
  for (std::string line; std::getline(lines, line);) batches += std::regex_match(line, batch);
  EXPECT_EQ(batches, 18) << printed;

  const auto rows = read_counts(out + "/class_counts.csv");
  ASSERT_EQ(rows.size(), 2u);
  const double draws = 15.0 * 2000;
  EXPECT_EQ(rows[0][1], 12);
  EXPECT_EQ(rows[1][1], 3);
  EXPECT_EQ(rows[0][2] + rows[1][2], draws);
  // Every draw is independent and class 0 carries half the total weight (12 x 1/12 against
  // 3 x 1/3), so its count is Binomial(30000, 1/2): standard deviation sqrt(30000)/2 = 86.6.
  // Four of them: a correct sampler fails this about once in 16,000 seeds.
  const double sd = std::sqrt(draws) / 2;
  EXPECT_NEAR(rows[0][2], draws / 2, 4 * sd);
  EXPECT_NEAR(rows[0][4], 0.5, 4 * sd / draws);
  // A permutation per epoch visits every image once: exactly 12 : 3, no randomness.
  EXPECT_EQ(rows[0][3], 12 * 2000);
  EXPECT_EQ(rows[1][3], 3 * 2000);
  EXPECT_NE(r.kiln_figure.find("shuffled 80.0% / 20.0%"), std::string::npos) << r.kiln_figure;
  EXPECT_EQ(r.kiln_figure.rfind("weighted ", 0), 0u) << r.kiln_figure;

  ASSERT_EQ(r.plots, std::vector<std::string>{"class_counts.png"});
  const std::vector<uint8_t> png = read_file_bytes(out + "/class_counts.png");
  EXPECT_GT(decode_image(png.data(), png.size(), "class_counts.png").width, 0);
}

TEST_F(WeightedSamplingCommand, TheTutorialsWeightsAreTheSameForAClassSortedFolder) {
  run_weighted_sampling(options(dir_.file("default")));
  WeightedSamplingOptions o = options(dir_.file("seed"));
  o.common.protocol = "seed";
  const ExperimentResult r = run_weighted_sampling(o);
  EXPECT_NE(r.notes.find("identical to 1/count[label[i]]"), std::string::npos) << r.notes;
  // Same weights, same seed: the same draws.
  EXPECT_EQ(read_counts(dir_.file("default") + "/class_counts.csv"),
            read_counts(dir_.file("seed") + "/class_counts.csv"));
}

TEST_F(WeightedSamplingCommand, BadInputIsAnError) {
  WeightedSamplingOptions o = options(dir_.file("bad"));
  o.common.data_dir = dir_.file("no-such-folder");
  EXPECT_THROW(run_weighted_sampling(o), Error);
  o = options(dir_.file("bad"));
  o.count_epochs = 0;
  EXPECT_THROW(run_weighted_sampling(o), Error);
}

TEST_F(WeightedSamplingCommand, WithoutDataDirItWritesTheTutorialsFolder) {
  if (!std::filesystem::exists(std::string(kDebianFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz") &&
      !std::filesystem::exists(std::string(kDebianFashionMnistDir) + "/t10k-labels-idx1-ubyte"))
    GTEST_SKIP() << "Fashion-MNIST is not installed at " << kDebianFashionMnistDir;
  WeightedSamplingOptions o = weighted_sampling_defaults();
  o.common.device = "cpu";
  o.common.out = dir_.file("own");
  o.count_epochs = 50;
  ::testing::internal::CaptureStdout();
  const ExperimentResult r = run_weighted_sampling(o);
  const std::string printed = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(count_files(dir_.file("own") + "/class_folder/lion"), 4u);
  EXPECT_EQ(count_files(dir_.file("own") + "/class_folder/tiger"), 14u);
  // The tutorial's printed weights: lion (class 0) 4 x 0.25, tiger 14 x 0.0714.
  EXPECT_NE(printed.find("tensor([0.2500, 0.2500, 0.2500, 0.2500, 0.0714, 0.0714, 0.0714, 0.0714, 0.0714,\n"
                         "        0.0714, 0.0714, 0.0714, 0.0714, 0.0714, 0.0714, 0.0714, 0.0714, 0.0714],\n"
                         "       dtype=torch.float64)"),
            std::string::npos)
      << printed;
  EXPECT_NE(r.kiln_figure.find("shuffled 22.2% / 77.8%"), std::string::npos) << r.kiln_figure;
  EXPECT_NE(r.dataset.find("lion 4, tiger 14 images"), std::string::npos) << r.dataset;
  // A second run rewrites the folder rather than adding to it.
  run_weighted_sampling(o);
  EXPECT_EQ(count_files(dir_.file("own") + "/class_folder/tiger"), 14u);
}

}  // namespace
}  // namespace kiln
