// PNG figures: files are valid PNGs of the expected size, the data lands on the pixels the
// reported axis mapping predicts, heatmap cells darken with the count, bars are as tall as
// their values, and bad input gives kiln::Error. With KILN_PLOT_PREVIEW_DIR set, example
// figures are also written there for a look by eye.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "tests/support/helpers.h"
#include "trainers/plot/canvas.h"
#include "trainers/plot/plots.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace kiln {
namespace {

using testing::TempDir;

struct Pixel {
  int r, g, b;
};

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  Pixel at(int x, int y) const {
    const size_t i = (size_t(y) * width + x) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

uint32_t read_be32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | uint32_t(b[at + 3]);
}

// Checks the PNG signature and the IHDR chunk by hand, then decodes the pixels with stb_image
// and checks both agree on the size.
Image load_png(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  EXPECT_GE(bytes.size(), 33u) << path;
  if (bytes.size() < 33) return {};
  EXPECT_TRUE(std::equal(signature, signature + 8, bytes.begin())) << path << ": not a PNG signature";
  EXPECT_EQ(read_be32(bytes, 8), 13u) << "IHDR length";
  EXPECT_EQ(std::string(bytes.begin() + 12, bytes.begin() + 16), "IHDR");
  Image img;
  img.width = int(read_be32(bytes, 16));
  img.height = int(read_be32(bytes, 20));
  EXPECT_EQ(bytes[24], 8) << "bit depth";
  EXPECT_EQ(bytes[25], 2) << "colour type RGB";
  int w = 0, h = 0, channels = 0;
  unsigned char* data = stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &channels, 3);
  EXPECT_NE(data, nullptr) << path << ": " << stbi_failure_reason();
  if (!data) return {};
  EXPECT_EQ(w, img.width);
  EXPECT_EQ(h, img.height);
  img.rgb.assign(data, data + size_t(w) * h * 3);
  stbi_image_free(data);
  return img;
}

Pixel hex(uint32_t c) { return {int(c >> 16 & 0xff), int(c >> 8 & 0xff), int(c & 0xff)}; }
int distance(Pixel a, Pixel b) {
  return std::max({std::abs(a.r - b.r), std::abs(a.g - b.g), std::abs(a.b - b.b)});
}
const Pixel kBlue = hex(0x1f77b4), kOrange = hex(0xff7f0e), kGreen = hex(0x2ca02c);

// Closest colour distance to `c` among the pixels within `radius` of (x, y).
int nearest(const Image& img, double x, double y, Pixel c, int radius = 1) {
  int best = 1000;
  for (int dy = -radius; dy <= radius; ++dy)
    for (int dx = -radius; dx <= radius; ++dx) {
      const int px = int(std::floor(x)) + dx, py = int(std::floor(y)) + dy;
      if (px >= 0 && py >= 0 && px < img.width && py < img.height)
        best = std::min(best, distance(img.at(px, py), c));
    }
  return best;
}

double luminance(Pixel p) { return 0.2126 * p.r + 0.7152 * p.g + 0.0722 * p.b; }

// Average colour of a small patch near a heatmap cell's top-left corner, clear of its count.
Pixel cell_colour(const Image& img, const PlotArea& a, int row, int col) {
  const double cell = double(a.right - a.left) / (a.x_max - a.x_min);
  const int x0 = int(a.left + col * cell + 2), y0 = int(a.top + row * cell + 2);
  int r = 0, g = 0, b = 0, n = 0;
  for (int y = y0; y < y0 + 4; ++y)
    for (int x = x0; x < x0 + 4; ++x, ++n) {
      const Pixel p = img.at(x, y);
      r += p.r, g += p.g, b += p.b;
    }
  return {r / n, g / n, b / n};
}

using testing::error_of;

Series make_series(const std::string& name, std::vector<double> x, std::vector<double> y) {
  return Series{name, std::move(x), std::move(y)};
}

std::vector<std::vector<int64_t>> confusion(const std::vector<int>& actual, const std::vector<int>& predicted,
                                            int n) {
  std::vector<std::vector<int64_t>> m(n, std::vector<int64_t>(n, 0));
  for (size_t i = 0; i < actual.size(); ++i) ++m[actual[i]][predicted[i]];
  return m;
}

const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// ---------------------------------------------------------------------------------------------
// Line plots

TEST(LinePlot, WritesAPngOfTheRequestedSize) {
  TempDir dir;
  LinePlot p;
  p.title = "loss";
  p.series = {make_series("train", {1, 2, 3}, {1.0, 0.5, 0.25})};
  p.width = 640;
  p.height = 400;
  write_line_plot_png(dir.file("a.png"), p);
  const Image img = load_png(dir.file("a.png"));
  EXPECT_EQ(img.width, 640);
  EXPECT_EQ(img.height, 400);
  // Written atomically: only the final file is left in the folder.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) ++files, (void)e;
  EXPECT_EQ(files, 1);
}

TEST(LinePlot, SeriesAreDrawnWhereTheAxisMappingPutsThem) {
  TempDir dir;
  LinePlot p;
  std::vector<double> x, y1, y2;
  for (int i = 0; i <= 20; ++i) {
    x.push_back(i);
    y1.push_back(i * i / 40.0);         // 0 .. 10
    y2.push_back(10.0 - i * i / 40.0);  // 10 .. 0
  }
  // Unnamed series: no legend, so nothing covers the lines.
  p.series = {make_series("", x, y1), make_series("", x, y2)};
  PlotArea a;
  write_line_plot_png(dir.file("lines.png"), p, &a);
  const Image img = load_png(dir.file("lines.png"));
  ASSERT_EQ(img.width, p.width);
  // The axis spans the data with a margin, inside the image.
  EXPECT_LT(a.x_min, 0);
  EXPECT_GT(a.x_max, 20);
  EXPECT_LT(a.y_min, 0);
  EXPECT_GT(a.y_max, 10);
  EXPECT_GT(a.left, 20);
  EXPECT_LT(a.right, img.width);
  EXPECT_GT(a.top, 0);
  EXPECT_LT(a.bottom, img.height - 20);
  for (int i = 0; i <= 20; ++i) {
    if (i == 14) continue;  // the two curves cross near x = 14.1
    EXPECT_LT(nearest(img, a.x_to_px(x[i]), a.y_to_px(y1[i]), kBlue), 40) << "blue point " << i;
    EXPECT_LT(nearest(img, a.x_to_px(x[i]), a.y_to_px(y2[i]), kOrange), 40) << "orange point " << i;
  }
  // Away from both curves there is no series colour.
  for (double yv : {2.0, 8.0}) {
    const double px = a.x_to_px(2), py = a.y_to_px(yv);
    EXPECT_GT(nearest(img, px, py, kBlue, 3), 60);
    EXPECT_GT(nearest(img, px, py, kOrange, 3), 60);
  }
}

TEST(LinePlot, NonFiniteValuesLeaveAGap) {
  TempDir dir;
  LinePlot p;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  p.series = {
      make_series("", {0, 1, 2, 3, 4, 5, 6}, {1, 1, nan, 1, 1, std::numeric_limits<double>::infinity(), 1})};
  PlotArea a;
  write_line_plot_png(dir.file("gap.png"), p, &a);
  const Image img = load_png(dir.file("gap.png"));
  const double row = a.y_to_px(1);
  EXPECT_LT(nearest(img, a.x_to_px(0.5), row, kBlue), 30);
  EXPECT_LT(nearest(img, a.x_to_px(3.5), row, kBlue), 30);
  // Nothing is drawn across the missing points at x = 2 and x = 5...
  for (double gx : {2.0, 5.0})
    for (int y = a.top; y < a.bottom; ++y)
      EXPECT_GT(distance(img.at(int(a.x_to_px(gx)), y), kBlue), 60) << "x = " << gx << ", row " << y;
  // ...but the isolated point at x = 6 is still shown, as a dot.
  EXPECT_LT(nearest(img, a.x_to_px(6), row, kBlue), 30);
}

TEST(LinePlot, OnePointAndConstantSeriesGetAUsableRange) {
  TempDir dir;
  {
    LinePlot p;
    p.series = {make_series("only", {1}, {0.5})};
    PlotArea a;
    write_line_plot_png(dir.file("one.png"), p, &a);
    const Image img = load_png(dir.file("one.png"));
    EXPECT_LT(a.x_min, 1);
    EXPECT_GT(a.x_max, 1);
    EXPECT_LT(a.y_min, 0.5);
    EXPECT_GT(a.y_max, 0.5);
    EXPECT_LT(nearest(img, a.x_to_px(1), a.y_to_px(0.5), kBlue), 30);
  }
  {
    LinePlot p;
    p.series = {make_series("", {0, 1, 2, 3}, {2e-4, 2e-4, 2e-4, 2e-4})};
    PlotArea a;
    write_line_plot_png(dir.file("flat.png"), p, &a);
    const Image img = load_png(dir.file("flat.png"));
    EXPECT_LT(a.y_min, 2e-4);
    EXPECT_GT(a.y_max, 2e-4);
    // The flat line sits mid-plot.
    EXPECT_NEAR(a.y_to_px(2e-4), (a.top + a.bottom) / 2.0, 2);
    EXPECT_LT(nearest(img, a.x_to_px(1.5), a.y_to_px(2e-4), kBlue), 30);
  }
  {
    LinePlot p;
    p.series = {make_series("all missing", {0, 1}, {std::nan(""), std::nan("")})};
    write_line_plot_png(dir.file("empty.png"), p);
    EXPECT_EQ(load_png(dir.file("empty.png")).width, p.width);
  }
}

TEST(LinePlot, LargeAndSmallMagnitudes) {
  TempDir dir;
  for (double scale : {1e-4, 1.0, 1e6, 1e9}) {
    LinePlot p;
    std::vector<double> x, y;
    for (int i = 0; i < 30; ++i) {
      x.push_back(i);
      y.push_back(scale * (0.017 + 1.413 * std::exp(-i / 5.0)));
    }
    p.series = {make_series("", x, y)};
    PlotArea a;
    write_line_plot_png(dir.file("m.png"), p, &a);
    const Image img = load_png(dir.file("m.png"));
    for (int i = 0; i < 30; i += 3)
      EXPECT_LT(nearest(img, a.x_to_px(x[i]), a.y_to_px(y[i]), kBlue), 40)
          << "scale " << scale << ", point " << i;
  }
}

TEST(LinePlot, DashedMarkerAtItsX) {
  TempDir dir;
  LinePlot p;
  p.series = {make_series("", {0, 10}, {0, 0})};
  p.marker_x = 7;
  p.marker_label = "early stop";
  PlotArea a;
  write_line_plot_png(dir.file("marker.png"), p, &a);
  const Image img = load_png(dir.file("marker.png"));
  const int col = int(a.x_to_px(7));
  int inked = 0, blank = 0;
  for (int y = a.top + (a.bottom - a.top) / 3; y < a.bottom - 20; ++y) {
    const Pixel px = img.at(col, y);
    if (luminance(px) < 140) ++inked;
    if (luminance(px) > 200) ++blank;  // background or the light grid line under the marker
  }
  // Dashed: both ink and gaps along the line.
  EXPECT_GT(inked, 20);
  EXPECT_GT(blank, 10);
}

TEST(LinePlot, BadInputIsAnError) {
  TempDir dir;
  const std::string path = dir.file("bad.png");
  LinePlot p;
  EXPECT_NE(error_of([&] { write_line_plot_png(path, p); }).find("series list is empty"), std::string::npos);
  p.series = {make_series("train", {1, 2, 3}, {1, 2})};
  std::string e = error_of([&] { write_line_plot_png(path, p); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("'train' has 3 x values but 2 y values"), std::string::npos) << e;
  p.series = {make_series("train", {1, 3, 2}, {1, 2, 3})};
  EXPECT_NE(error_of([&] { write_line_plot_png(path, p); }).find("do not increase"), std::string::npos);
  p.series = {make_series("train", {1, std::nan(""), 2}, {1, 2, 3})};
  EXPECT_NE(error_of([&] { write_line_plot_png(path, p); }).find("non-finite x"), std::string::npos);
  p.series = {make_series("train", {1, 2}, {1, 2})};
  p.width = 50;
  EXPECT_NE(error_of([&] { write_line_plot_png(path, p); }).find("out of range"), std::string::npos);
  p.width = 900;
  p.height = 100000;
  EXPECT_NE(error_of([&] { write_line_plot_png(path, p); }).find("out of range"), std::string::npos);
  p.height = 500;
  e = error_of([&] { write_line_plot_png("/nonexistent-dir/x/plot.png", p); });
  EXPECT_NE(e.find("/nonexistent-dir/x/plot.png"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(path));
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix

TEST(ConfusionMatrix, TutorialMatrixDarkestCellIsTheLargestCount) {
  const std::vector<int> actual = {1, 1, 1, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2};
  const std::vector<int> predicted = {1, 2, 2, 0, 2, 2, 1, 2, 0, 1, 0, 2, 2, 2, 2, 2};
  const auto counts = confusion(actual, predicted, 3);
  ASSERT_EQ(counts, (std::vector<std::vector<int64_t>>{{1, 1, 3}, {0, 1, 2}, {2, 1, 5}}));
  TempDir dir;
  PlotArea a;
  write_confusion_matrix_png(dir.file("cm.png"), counts, {"0", "1", "2"}, "Confusion matrix", &a);
  const Image img = load_png(dir.file("cm.png"));
  ASSERT_GT(img.width, a.right);
  ASSERT_GT(img.height, a.bottom);
  // Rows top to bottom, columns left to right, square cells.
  EXPECT_EQ(a.right - a.left, a.bottom - a.top);
  EXPECT_NEAR(a.y_to_px(0.5), a.top + (a.bottom - a.top) / 6.0, 1e-9);
  EXPECT_NEAR(a.x_to_px(2.5), a.left + (a.right - a.left) * 5 / 6.0, 1e-9);

  int dark_r = -1, dark_c = -1;
  double dark = 1e9;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      const double l = luminance(cell_colour(img, a, r, c));
      if (l < dark) dark = l, dark_r = r, dark_c = c;
    }
  EXPECT_EQ(dark_r, 2);
  EXPECT_EQ(dark_c, 2);
  // Colour darkens monotonically with the count; equal counts share a colour.
  for (int r1 = 0; r1 < 3; ++r1)
    for (int c1 = 0; c1 < 3; ++c1)
      for (int r2 = 0; r2 < 3; ++r2)
        for (int c2 = 0; c2 < 3; ++c2) {
          const double l1 = luminance(cell_colour(img, a, r1, c1)),
                       l2 = luminance(cell_colour(img, a, r2, c2));
          if (counts[r1][c1] < counts[r2][c2]) {
            EXPECT_GT(l1, l2 + 5);
          } else if (counts[r1][c1] == counts[r2][c2]) {
            EXPECT_NEAR(l1, l2, 1.0);
          }
        }
  // A zero cell is (near) white; the scale starts at 0, not at the smallest count.
  const Pixel zero = cell_colour(img, a, 1, 0);
  EXPECT_GT(std::min({zero.r, zero.g, zero.b}), 235);
  // Counts are written in white on the darkest cell and in dark ink on the lightest.
  auto count_pixels = [&](int row, int col, bool want_light) {
    const double cell = (a.right - a.left) / 3.0;
    int n = 0;
    for (int y = int(a.top + (row + 0.3) * cell); y < int(a.top + (row + 0.7) * cell); ++y)
      for (int x = int(a.left + (col + 0.3) * cell); x < int(a.left + (col + 0.7) * cell); ++x) {
        const double l = luminance(img.at(x, y));
        n += want_light ? l > 230 : l < 90;
      }
    return n;
  };
  EXPECT_GT(count_pixels(2, 2, true), 10);
  EXPECT_GT(count_pixels(1, 0, false), 10);
}

TEST(ConfusionMatrix, TenFashionClassesFitWithReadableLabels) {
  std::vector<std::vector<int64_t>> counts(10, std::vector<int64_t>(10));
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 10; ++c) counts[r][c] = r == c ? 800 + 10 * r : (r * 7 + c * 3) % 40;
  TempDir dir;
  PlotArea a;
  write_confusion_matrix_png(dir.file("fashion.png"), counts, kFashionNames, "Fashion-MNIST", &a);
  const Image img = load_png(dir.file("fashion.png"));
  // The long class names need room left of and below the grid, and everything fits inside.
  const double name_w = plot::Font::default_font().text_width("T-shirt/top", 12);
  EXPECT_GT(a.left, name_w);
  EXPECT_GT(img.height - a.bottom, name_w);
  EXPECT_GT(img.width, a.right + 40);  // colour bar
  for (int k = 0; k < 10; ++k)
    for (int c = 0; c < 10; ++c) {
      if (c == k) continue;
      EXPECT_LT(luminance(cell_colour(img, a, k, k)), luminance(cell_colour(img, a, k, c)));
    }
  // Text pixels left of the grid (the row names) are present for every row.
  for (int k = 0; k < 10; ++k) {
    const int y0 = int(a.y_to_px(k)), y1 = int(a.y_to_px(k + 1));
    int ink = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = 0; x < a.left - 4; ++x) ink += luminance(img.at(x, y)) < 100;
    EXPECT_GT(ink, 10) << kFashionNames[k];
  }
}

TEST(ConfusionMatrix, AllZeroAndLargeCounts) {
  TempDir dir;
  write_confusion_matrix_png(dir.file("z.png"), {{0, 0}, {0, 0}}, {"a", "b"}, "");
  EXPECT_GT(load_png(dir.file("z.png")).width, 0);
  write_confusion_matrix_png(dir.file("big.png"), {{123456789, 1}, {2, 987654321}}, {"a", "b"}, "big");
  EXPECT_GT(load_png(dir.file("big.png")).width, 0);
  std::vector<std::vector<int64_t>> many(60, std::vector<int64_t>(60, 1));
  write_confusion_matrix_png(dir.file("many.png"), many, std::vector<std::string>(60, "class"), "60 classes");
  EXPECT_GT(load_png(dir.file("many.png")).width, 0);
}

TEST(ConfusionMatrix, BadInputIsAnError) {
  TempDir dir;
  const std::string path = dir.file("cm.png");
  auto err = [&](const std::vector<std::vector<int64_t>>& c, const std::vector<std::string>& names) {
    return error_of([&] { write_confusion_matrix_png(path, c, names, "t"); });
  };
  EXPECT_NE(err({}, {}).find("counts is empty"), std::string::npos);
  EXPECT_NE(err({{1, 2}, {3}}, {"a", "b"}).find("not square"), std::string::npos);
  EXPECT_NE(err({{1, 2, 3}, {3, 4, 5}}, {"a", "b"}).find("not square"), std::string::npos);
  const std::string e = err({{1, 2}, {3, 4}}, {"a", "b", "c"});
  EXPECT_NE(e.find("2 rows but there are 3 class names"), std::string::npos) << e;
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(err({{1, -2}, {3, 4}}, {"a", "b"}).find("negative count -2"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path));
}

// ---------------------------------------------------------------------------------------------
// Bar chart

TEST(BarChart, BarHeightsAreProportionalToValues) {
  TempDir dir;
  const std::vector<std::string> cats = {"cat", "dog", "horse"};
  const std::vector<BarSeries> series = {{"uniform sampler", {100, 200, 400}},
                                         {"weighted sampler", {230, 240, 250}}};
  PlotArea a;
  write_bar_chart_png(dir.file("bars.png"), "Class counts", "count", cats, series, &a);
  const Image img = load_png(dir.file("bars.png"));
  EXPECT_DOUBLE_EQ(a.y_min, 0);
  EXPECT_GT(a.y_max, 400);
  EXPECT_DOUBLE_EQ(a.x_min, -0.5);
  EXPECT_DOUBLE_EQ(a.x_max, 2.5);
  const Pixel colours[2] = {kBlue, kOrange};
  std::vector<double> px_per_unit;
  for (size_t s = 0; s < series.size(); ++s)
    for (size_t j = 0; j < cats.size(); ++j) {
      const double v = series[s].values[j];
      const int col = int(a.x_to_px(j - 0.4 + 0.8 * (s + 0.5) / series.size()));
      // Walk up from the baseline through the bar's colour; neither the legend nor a label
      // may cover it.
      int y = a.bottom - 1;
      while (y > a.top && distance(img.at(col, y), colours[s]) < 30) --y;
      const double top = y + 1;
      EXPECT_NEAR(top, a.y_to_px(v), 1.5) << "series " << s << ", category " << j;
      px_per_unit.push_back((a.bottom - top) / v);
      // The value is written just above the bar.
      int ink = 0;
      for (int yy = int(top) - 18; yy < int(top) - 2; ++yy)
        for (int xx = col - 12; xx <= col + 12; ++xx) ink += luminance(img.at(xx, yy)) < 100;
      EXPECT_GT(ink, 5) << "value label of series " << s << ", category " << j;
    }
  for (double r : px_per_unit) EXPECT_NEAR(r, px_per_unit[0], px_per_unit[0] * 0.02);
}

TEST(BarChart, ManyCategoriesAndNegativeValues) {
  TempDir dir;
  std::vector<std::string> cats;
  std::vector<double> v1, v2, v3;
  for (int i = 0; i < 40; ++i) {
    cats.push_back("class number " + std::to_string(i));
    v1.push_back(1000 + i * 37);
    v2.push_back(i % 5 == 0 ? 0 : 0.5 * i);
    v3.push_back(i - 20.5);
  }
  PlotArea a;
  write_bar_chart_png(dir.file("many.png"), "many", "", cats, {{"a", v1}, {"b", v2}, {"c", v3}}, &a);
  const Image img = load_png(dir.file("many.png"));
  EXPECT_GE(img.width, 900);
  EXPECT_LT(a.y_min, -20.5);
  // A negative bar hangs below zero.
  const int col = int(a.x_to_px(0 - 0.4 + 0.8 * 2.5 / 3));
  EXPECT_LT(nearest(img, col, (a.y_to_px(0) + a.y_to_px(-20.5)) / 2, kGreen, 0), 30);
}

TEST(BarChart, BadInputIsAnError) {
  TempDir dir;
  const std::string path = dir.file("b.png");
  auto err = [&](const std::vector<std::string>& cats, const std::vector<BarSeries>& s) {
    return error_of([&] { write_bar_chart_png(path, "t", "y", cats, s); });
  };
  EXPECT_NE(err({}, {{"a", {}}}).find("no categories"), std::string::npos);
  EXPECT_NE(err({"x"}, {}).find("series list is empty"), std::string::npos);
  const std::string e = err({"x", "y"}, {{"a", {1, 2}}, {"b", {1}}});
  EXPECT_NE(e.find("'b' has 1 values but there are 2 categories"), std::string::npos) << e;
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(err({"x"}, {{"a", {std::nan("")}}}).find("non-finite"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path));
}

// ---------------------------------------------------------------------------------------------
// Canvas and fonts

TEST(PlotCanvas, LinesAreAntiAliased) {
  plot::Canvas c(40, 40, {1, 1, 1});
  c.line(2, 3, 37, 30, 2.0, {0, 0, 0});
  int partial = 0, full = 0;
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x) {
      const float v = c.pixel(x, y).r;
      partial += v > 0.05f && v < 0.95f;
      full += v <= 0.05f;
    }
  EXPECT_GT(partial, 20);
  EXPECT_GT(full, 20);
  // A horizontal 2-pixel line on a pixel boundary covers exactly the two rows beside it.
  plot::Canvas h(20, 20, {1, 1, 1});
  h.line(2, 10, 18, 10, 2.0, {0, 0, 0});
  EXPECT_LT(h.pixel(10, 9).r, 0.01f);
  EXPECT_LT(h.pixel(10, 10).r, 0.01f);
  EXPECT_GT(h.pixel(10, 8).r, 0.99f);
  EXPECT_GT(h.pixel(10, 11).r, 0.99f);
}

TEST(PlotCanvas, TextFallsBackToTheStrokeFont) {
  const plot::Font fallback("/nonexistent/font.ttf");
  EXPECT_FALSE(fallback.is_truetype());
  for (const plot::Font* f : {&fallback, &plot::Font::default_font()}) {
    plot::Canvas c(200, 60, {1, 1, 1});
    c.text(*f, "Ankle boot 123", 10, 30, 14, {0, 0, 0});
    c.text(*f, "up", 180, 50, 14, {0, 0, 0}, plot::HAlign::Center, plot::VAlign::Bottom, true);
    int ink = 0;
    for (int y = 0; y < 60; ++y)
      for (int x = 0; x < 200; ++x) ink += c.pixel(x, y).r < 0.5f;
    EXPECT_GT(ink, 60);
    EXPECT_GT(f->text_width("Ankle boot 123", 14), 60);
    EXPECT_LT(f->text_width("Ankle boot 123", 14), 140);
  }
  if (std::filesystem::exists("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")) {
    EXPECT_TRUE(plot::Font::default_font().is_truetype());
  }
}

// ---------------------------------------------------------------------------------------------
// Figures to look at: set KILN_PLOT_PREVIEW_DIR (e.g. /tmp/kiln-plots-preview) and run this test.

TEST(PlotPreview, WritesExampleFigures) {
  const char* env = std::getenv("KILN_PLOT_PREVIEW_DIR");
  if (!env || !*env) GTEST_SKIP() << "set KILN_PLOT_PREVIEW_DIR to write example figures";
  const std::string dir = env;
  std::filesystem::create_directories(dir);

  // 51 epochs of train/validation loss, with the early-stopping epoch marked.
  LinePlot loss;
  loss.title = "Training and validation loss";
  loss.x_label = "epoch";
  loss.y_label = "loss";
  Series train{"train", {}, {}}, val{"validation", {}, {}};
  for (int e = 1; e <= 51; ++e) {
    train.x.push_back(e);
    val.x.push_back(e);
    train.y.push_back(0.017 + 1.413 * std::exp(-(e - 1) / 8.0));
    val.y.push_back(0.09 + 1.2 * std::exp(-(e - 1) / 7.0) + 0.0025 * std::max(0, e - 25) +
                    0.01 * std::sin(e));
  }
  loss.series = {train, val};
  loss.marker_x = 25;
  loss.marker_label = "early stop (epoch 25)";
  write_line_plot_png(dir + "/loss_curves.png", loss);

  LinePlot acc;
  acc.title = "Accuracy";
  acc.x_label = "epoch";
  acc.y_label = "accuracy";
  Series ta{"train", {}, {}}, va{"validation", {}, {}};
  for (int e = 1; e <= 30; ++e) {
    ta.x.push_back(e);
    va.x.push_back(e);
    ta.y.push_back(0.98 - 0.6 * std::exp(-e / 5.0));
    va.y.push_back(e == 12 ? std::nan("") : 0.91 - 0.55 * std::exp(-e / 4.0));
  }
  acc.series = {ta, va};
  write_line_plot_png(dir + "/accuracy_curves.png", acc);

  LinePlot small;
  small.title = "Learning rate";
  small.x_label = "step";
  small.y_label = "lr";
  Series lr{"lr", {}, {}};
  for (int s = 0; s <= 100; ++s) {
    lr.x.push_back(s);
    lr.y.push_back(1e-4 * (0.5 + 0.5 * std::cos(M_PI * s / 100)));
  }
  small.series = {lr, make_series("one point", {50}, {5e-5})};
  write_line_plot_png(dir + "/small_values.png", small);

  std::vector<std::vector<int64_t>> fashion(10, std::vector<int64_t>(10));
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 10; ++c)
      fashion[r][c] = r == c ? 700 + 29 * ((r * 5) % 9) : ((r * 7 + c * 13) % 23) * (r == 6 ? 4 : 1);
  write_confusion_matrix_png(dir + "/confusion_fashion.png", fashion, kFashionNames,
                             "Fashion-MNIST confusion matrix");
  write_confusion_matrix_png(dir + "/confusion_tutorial.png", {{1, 1, 3}, {0, 1, 2}, {2, 1, 5}},
                             {"0", "1", "2"}, "Confusion matrix");

  write_bar_chart_png(dir + "/sampler_counts.png", "Class counts per epoch", "count",
                      {"cat", "dog", "horse", "rabbit"},
                      {{"random sampler", {520, 301, 98, 81}}, {"weighted sampler", {251, 248, 255, 246}}});
  write_bar_chart_png(dir + "/fashion_counts.png", "Fashion-MNIST class counts", "images", kFashionNames,
                      {{"train", {6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000}},
                       {"test", {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}}});

  // Text in the stroke font used when DejaVu Sans is not installed, next to DejaVu Sans.
  const plot::Font stroke("/nonexistent/font.ttf");
  plot::Canvas c(460, 130, {1, 1, 1});
  c.text(stroke, "Stroke font: T-shirt/top 0.125 (epoch 25)", 10, 30, 14, {0, 0, 0});
  c.text(plot::Font::default_font(), "DejaVu Sans: T-shirt/top 0.125 (epoch 25)", 10, 60, 14, {0, 0, 0});
  c.text(stroke, "Ankle boot", 10, 100, 18, {0.1f, 0.3f, 0.6f});
  c.text(stroke, "upwards", 440, 120, 13, {0, 0, 0}, plot::HAlign::Center, plot::VAlign::Bottom, true);
  const std::vector<uint8_t> png = c.encode_png();
  write_file_atomic(dir + "/fonts.png", png.data(), png.size());
}

}  // namespace
}  // namespace kiln
