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

// Where a figure put its data: the plot area's pixel rectangle and the data range it spans,
// so a caller (or a test) can find the pixel of any data point; each write_*_png has an
// overload that fills one in after writing (a null pointer is allowed). Coordinates are
// continuous: pixel (i, j) covers [i, i+1) x [j, j+1), and y grows downwards in the image.
//  - line plot: x_min..x_max left to right, y_min..y_max bottom to top (the axis limits).
//  - confusion matrix: the cell grid; x is the predicted class, y the actual class, cell
//    (r, c) spans x in [c, c+1) and y in [r, r+1), row 0 at the top (y_min = n, y_max = 0).
//  - bar chart: x_min = -0.5, x_max = categories - 0.5 (category i is centred on x = i; its
//    group of bars fills [i - 0.4, i + 0.4], series j taking the j-th equal slice), and
//    y_min..y_max bottom to top (y_min is 0 unless a value is negative).
struct PlotArea {
  int left = 0, top = 0, right = 0, bottom = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;

  double x_to_px(double x) const { return left + (x - x_min) / (x_max - x_min) * (right - left); }
  double y_to_px(double y) const { return bottom - (y - y_min) / (y_max - y_min) * (bottom - top); }
};

// Long names (legend entries, class and category names) are cut with "..." rather than let
// them squeeze the chart; titles too wide for the figure are set smaller.

struct Series {
  std::string name;       // legend entry
  std::vector<double> x;  // same length as y; x[i] < x[i+1]
  std::vector<double> y;  // non-finite points are skipped (a gap in the line)
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

// Axes with 1-2-5 ticks, a light grid, 2-pixel anti-aliased lines in the matplotlib 'tab10'
// colours, a legend placed in the corner the data crosses least. An isolated finite point
// (one-point series, or a point between gaps) is drawn as a dot. Throws kiln::Error for an
// empty series list, x/y length mismatch, non-finite or non-increasing x, or a size outside
// 200..8000 x 150..8000 pixels.
void write_line_plot_png(const std::string& path, const LinePlot& plot);
void write_line_plot_png(const std::string& path, const LinePlot& plot, PlotArea* area);

// counts[actual][predicted]; rows = actual class, columns = predicted class. Cells are
// coloured on a white-to-blue scale with the count written in each cell (white on dark
// cells), class names on both axes, and a colour bar with its scale.
// The colour scale runs over [0, max count]. Throws kiln::Error when counts is empty, not
// square, does not match class_names, or holds a negative count.
void write_confusion_matrix_png(const std::string& path, const std::vector<std::vector<int64_t>>& counts,
                                const std::vector<std::string>& class_names, const std::string& title);
void write_confusion_matrix_png(const std::string& path, const std::vector<std::vector<int64_t>>& counts,
                                const std::vector<std::string>& class_names, const std::string& title,
                                PlotArea* area);

struct BarSeries {
  std::string name;            // legend entry
  std::vector<double> values;  // one per category
};

// Grouped bars: for each category, one bar per series, value written above each bar. The
// y axis starts at 0 and leaves room above the bars for the value labels and the legend, so
// neither covers a bar. Throws kiln::Error for no categories, no series, a series whose
// length differs from the categories', or a non-finite value.
void write_bar_chart_png(const std::string& path, const std::string& title, const std::string& y_label,
                         const std::vector<std::string>& categories, const std::vector<BarSeries>& series);
void write_bar_chart_png(const std::string& path, const std::string& title, const std::string& y_label,
                         const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                         PlotArea* area);

}  // namespace kiln
