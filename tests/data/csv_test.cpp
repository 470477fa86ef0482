// CSV tables: both layouts of the Boston housing file, strict parsing errors naming line and
// column, and scalers fitted on one split only.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/file_io.h"
#include "data/csv.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::all_close;

const char* kSklearnBoston = "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv";
const std::string kSharedBoston = std::string(KILN_SHARED_DATA_DIR) + "/boston_housing.csv";

std::string error_of(const std::string& text) {
  try {
    parse_csv_table(text, "t.csv");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

double column_mean(const Table& t, const std::string& name) {
  const int64_t c = t.column_index(name);
  double s = 0;
  for (int64_t r = 0; r < t.rows(); ++r) s += t.values[r * t.columns.size() + c];
  return s / t.rows();
}

TEST(Csv, ReadsTheBostonTableInBothLayouts) {
  int checked = 0;
  for (const std::string& path : {std::string(kSklearnBoston), kSharedBoston}) {
    if (!std::filesystem::exists(path)) continue;
    const Table t = read_csv_table(path);
    EXPECT_EQ(t.rows(), 506) << path;
    EXPECT_EQ(t.columns.size(), 14u) << path;
    // First data row of the classic file: CRIM 0.00632 ... LSTAT 4.98, MEDV 24.
    EXPECT_DOUBLE_EQ(t.values[0], 0.00632);
    EXPECT_DOUBLE_EQ(t.values[13], 24.0);
    // Column means published with the data (shared/data/SOURCES.md).
    EXPECT_NEAR(column_mean(t, t.columns[0]), 3.6135, 1e-4);
    EXPECT_NEAR(column_mean(t, t.columns[13]), 22.5328, 1e-4);
    const Dataset d = table_to_dataset(t, t.columns[13]);
    EXPECT_EQ(d.inputs.shape(), (Shape{506, 13}));
    EXPECT_EQ(d.targets.shape(), (Shape{506, 1}));
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no Boston CSV installed (python3-sklearn or ../shared/data)";
}

TEST(Csv, ScikitLearnHeaderLineIsRecognised) {
  const Table t = parse_csv_table("2,2,x\na,b,target\n1,2,3\n4,5,6\n", "t.csv");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"a", "b", "target"}));
  EXPECT_EQ(t.values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_NE(error_of("3,2\na,b\n1,2\n").find("declares 3 rows but the file has 1"), std::string::npos);
  // A declared count that is not a whole number (found by fuzzing: 2.8e71 rows).
  EXPECT_NE(error_of("2.8e71,2\na,b\n1,2\n").find("expected a whole number"), std::string::npos);
  EXPECT_NE(error_of("-1,2\na,b\n1,2\n").find("expected a whole number"), std::string::npos);
}

TEST(Csv, BadInputGivesOneClearError) {
  EXPECT_NE(error_of("").find("empty CSV file"), std::string::npos);
  EXPECT_NE(error_of("a,b\n").find("no data rows"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,2\n3\n").find("line 3: expected 2 fields"), std::string::npos);
  const std::string e = error_of("a,b\n1,2\n3,x4\n");
  EXPECT_NE(e.find("line 3, column 'b'"), std::string::npos) << e;
  EXPECT_NE(e.find("'x4'"), std::string::npos) << e;
  EXPECT_NE(error_of("a,b\n1,nan\n").find("not a finite number"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,2.5.1\n").find("not a finite number"), std::string::npos);
  EXPECT_NE(error_of("a,,c\n1,2,3\n").find("empty column name"), std::string::npos);
  try {
    read_csv_table("/nonexistent/boston.csv");
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("/nonexistent/boston.csv"), std::string::npos);
  }
  const Table logs = parse_csv_table("a,b\n1,nan\n,2\n", "log.csv", /*allow_missing=*/true);
  EXPECT_TRUE(std::isnan(logs.values[1]) && std::isnan(logs.values[2]));
  EXPECT_EQ(logs.values[3], 2.0);
  const Table t = parse_csv_table("a,b\r\n1,2\r\n", "crlf.csv");  // Windows line endings
  EXPECT_EQ(t.values, (std::vector<double>{1, 2}));
  EXPECT_THROW(t.column_index("c"), Error);
}

TEST(ColumnScaler, FitsOnTrainOnlyAndInverts) {
  const Tensor train = Tensor::from_vector<double>({0, 10, 2, 20, 4, 30}, {3, 2});
  const Tensor test = Tensor::from_vector<double>({8, 40}, {1, 2});
  const ColumnScaler mm = ColumnScaler::fit(train, ColumnScaler::Kind::MinMax);
  EXPECT_TRUE(all_close(mm.transform(train), {0, 0, 0.5, 0.5, 1, 1}, 1e-12, 0));
  EXPECT_TRUE(all_close(mm.transform(test), {2, 1.5}, 1e-12, 0));  // test data outside [0,1] stays so
  EXPECT_TRUE(all_close(mm.inverse(mm.transform(test)), {8, 40}, 1e-12, 0));
  const ColumnScaler st = ColumnScaler::fit(train, ColumnScaler::Kind::Standard);
  // column 0: mean 2, population sd sqrt(8/3)
  EXPECT_TRUE(all_close(st.transform(train).narrow(1, 0, 1),
                        std::vector<double>{-2 / std::sqrt(8.0 / 3), 0, 2 / std::sqrt(8.0 / 3)}, 1e-12, 0));
}

TEST(FileIo, AtomicWriteReplacesAndCleansUp) {
  testing::TempDir dir;
  const std::string path = dir.file("log.csv");
  write_file_atomic(path, std::string("first"));
  write_file_atomic(path, std::string("second"));
  const auto bytes = read_file_bytes(path);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "second");
  std::ofstream(path + ".tmp.123.0") << "stale";
  EXPECT_EQ(remove_stale_temporaries(path), 1);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp.123.0"));
  EXPECT_THROW(write_file_atomic(dir.file("missing/dir/x"), std::string("x")), Error);
  EXPECT_THROW(read_file_bytes(dir.path()), Error);  // a directory
}

}  // namespace
}  // namespace kiln
