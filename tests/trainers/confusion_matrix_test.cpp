// `kiln confusion-matrix`: the tutorial's example gives sklearn's counts, the heatmap is
// written, custom lists (also through the real program's comma-separated flags) work, and
// lists that do not pair up are errors.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/file_io.h"
#include "data/image_folder.h"
#include "tests/support/helpers.h"
#include "trainers/experiments/confusion_matrix.h"

namespace kiln {
namespace {

ConfusionMatrixOptions options(const std::string& out) {
  ConfusionMatrixOptions o = confusion_matrix_defaults();
  o.common.out = out;
  return o;
}

TEST(ConfusionMatrixCommand, TheTutorialsExampleGivesSklearnsCounts) {
  testing::TempDir dir;
  const ExperimentResult r = run_confusion_matrix(options(dir.path()));
  // Counted by hand from the tutorial's lists, as sklearn.metrics.confusion_matrix does:
  // rows = actual 0, 1, 2; columns = predicted 0, 1, 2.
  EXPECT_EQ(r.kiln_figure, "[[1,1,3],[0,1,2],[2,1,5]]");
  EXPECT_EQ(r.tutorial_figure.rfind("[[1,1,3],[0,1,2],[2,1,5]]", 0), 0u) << r.tutorial_figure;
  ASSERT_EQ(r.plots, std::vector<std::string>{"confusion_matrix.png"});
  const std::vector<uint8_t> png = read_file_bytes(dir.file("confusion_matrix.png"));
  const DecodedImage img = decode_image(png.data(), png.size(), "confusion_matrix.png");
  EXPECT_GT(img.width, 100);
  EXPECT_GT(img.height, 100);
  EXPECT_NE(r.notes.find("accuracy 43.75%"), std::string::npos) << r.notes;  // 7 of 16 on the diagonal
}

TEST(ConfusionMatrixCommand, CustomListsSizeTheMatrixByTheLargestLabel) {
  testing::TempDir dir;
  ConfusionMatrixOptions o = options(dir.path());
  o.actual = {0, 2, 2};
  o.predicted = {2, 2, 0};
  const ExperimentResult r = run_confusion_matrix(o);
  // Class 1 never occurs and still gets its row and column.
  EXPECT_EQ(r.kiln_figure, "[[0,0,1],[0,0,0],[1,0,1]]");
  EXPECT_NE(r.tutorial_figure.find("n/a"), std::string::npos) << r.tutorial_figure;
  EXPECT_TRUE(std::filesystem::exists(dir.file("confusion_matrix.png")));
}

TEST(ConfusionMatrixCommand, ListsThatDoNotPairUpAreErrors) {
  testing::TempDir dir;
  ConfusionMatrixOptions o = options(dir.path());
  o.actual = {0, 1, 1};
  o.predicted = {0, 1};
  try {
    run_confusion_matrix(o);
    ADD_FAILURE() << "lists of different lengths were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--actual has 3 labels but --predicted has 2"), std::string::npos)
        << e.what();
  }
  o.predicted = {0, -1, 1};
  EXPECT_THROW(run_confusion_matrix(o), Error);
  o.actual.clear();
  o.predicted.clear();
  EXPECT_THROW(run_confusion_matrix(o), Error);
}

// The real program: comma-separated flags, and a mismatch as one line on stderr.
std::string run_program(const std::string& args, int& status) {
  testing::TempDir dir;
  const std::string cmd = std::string(KILN_BINARY) + " " + args + " 2>" + dir.file("err");
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int raw = pclose(p);
    status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  }
  const std::vector<uint8_t> err = read_file_bytes(dir.file("err"));
  return out + std::string(err.begin(), err.end());
}

TEST(ConfusionMatrixCommand, TheProgramReadsCommaSeparatedLists) {
  testing::TempDir dir;
  int status = -1;
  std::string text =
      run_program("confusion-matrix --out " + dir.path() + " --actual 0,1,1 --predicted 0,1,0", status);
  EXPECT_EQ(status, 0) << text;
  EXPECT_NE(text.find("[[1,0],[1,1]]"), std::string::npos) << text;
  text = run_program("confusion-matrix --out " + dir.path() + " --actual 0,1,1 --predicted 0,1", status);
  EXPECT_NE(status, 0);
  EXPECT_NE(text.find("kiln: error: --actual has 3 labels but --predicted has 2"), std::string::npos) << text;
}

}  // namespace
}  // namespace kiln
