// PNG figures drawn by kiln itself (no Python, no matplotlib): loss/accuracy curves, the
// confusion matrix as an annotated heatmap, and grouped bar charts of class counts. Text is
// rendered from a TrueType font (DejaVu Sans from Debian's fonts-dejavu-core) with
// stb_truetype, falling back to stb_easy_font's built-in strokes when the font is absent;
// the image is written with stb_image_write. Every function throws kiln::Error naming the
// path when the file cannot be written, and writes atomically (no half-written PNGs).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kiln {

struct Series {
  std::string name;        // legend entry
  std::vector<double> x;   // same length as y; x[i] < x[i+1]
  std::vector<double> y;   // non-finite points are skipped (a gap in the line)
};

struct LinePlot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;  // drawn in distinct colours, with a legend
  // Optional vertical marker (e.g. the early-stopping epoch); NaN = none.
  double marker_x = std::numeric_limits<double>::quiet_NaN();
  std::string marker_label;
  int width = 900;
  int height = 560;
};

void write_line_plot_png(const std::string& path, const LinePlot& plot);

// counts[actual][predicted]; rows = actual class, columns = predicted class. Cells are
// coloured on a white-to-blue scale with the count written in each cell (white on dark
// cells), class names on both axes, and a colour bar with its scale.
void write_confusion_matrix_png(const std::string& path, const std::vector<std::vector<int64_t>>& counts,
                                const std::vector<std::string>& class_names, const std::string& title);

struct BarSeries {
  std::string name;            // legend entry
  std::vector<double> values;  // one per category
};

// Grouped bars: for each category, one bar per series, value written above each bar.
void write_bar_chart_png(const std::string& path, const std::string& title, const std::string& y_label,
                         const std::vector<std::string>& categories, const std::vector<BarSeries>& series);

}  // namespace kiln
