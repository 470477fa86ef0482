// Chart layout for kiln's PNG figures (loss curves, confusion-matrix heatmaps, grouped bar
// charts): tick selection, margins measured from the actual label widths so nothing clips,
// legends that avoid the data, and input validation. Drawing itself is in canvas.cpp.
#include "trainers/plot/plots.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "core/error.h"
#include "core/file_io.h"
#include "trainers/plot/canvas.h"

namespace kiln {

namespace {

using plot::Canvas;
using plot::Font;
using plot::HAlign;
using plot::Rgb;
using plot::rgb_hex;
using plot::VAlign;

// matplotlib's default 'tab10' cycle: distinct hues that stay distinguishable when printed.
constexpr uint32_t kTab10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
Rgb series_colour(size_t i) { return rgb_hex(kTab10[i % 10]); }

const Rgb kWhite{1, 1, 1};
const Rgb kInk = rgb_hex(0x262626);     // text (seaborn's ".15")
const Rgb kSpine = rgb_hex(0x404040);   // axes box and tick marks
const Rgb kGrid = rgb_hex(0xe3e3e3);    // light grid behind the data
const Rgb kMarker = rgb_hex(0x505050);  // dashed vertical marker

// Sizes in pixels per em. DejaVu Sans at these sizes matches matplotlib's defaults at 100 dpi
// closely enough to feel familiar.
constexpr double kTitleSize = 17;
constexpr double kLabelSize = 14;
constexpr double kTickSize = 12.5;
constexpr double kLegendSize = 13;
constexpr int kPad = 12;     // outer margin of every figure
constexpr int kTickLen = 5;  // outward tick marks
constexpr int kTickGap = 4;  // between a tick mark and its label

const Font& font() { return Font::default_font(); }

// ---------------------------------------------------------------------------------------------
// Ticks

// Smallest step of the form {1, 2, 5} x 10^k that is >= raw.
double nice_step_at_least(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw * (1 - 1e-9)) return m * mag;
  return 10 * mag;
}

// The next 1-2-5 step after `step`.
double next_nice_step(double step) { return nice_step_at_least(step * 1.01); }

std::vector<double> tick_values(double lo, double hi, double step) {
  std::vector<double> out;
  const double k0 = std::ceil(lo / step - 1e-9), k1 = std::floor(hi / step + 1e-9);
  for (double k = k0; k <= k1 && out.size() < 1000; k += 1) {
    double v = k * step;
    if (std::fabs(v) < step * 1e-9) v = 0;  // no "-0.0"
    out.push_back(v);
  }
  return out;
}

// Labels sharing one format so a column of ticks lines up: fixed decimals from the step, or
// scientific notation when the numbers would need more than five decimals or seven digits.
std::vector<std::string> tick_labels(const std::vector<double>& ticks, double step) {
  double max_abs = 0;
  for (double t : ticks) max_abs = std::max(max_abs, std::fabs(t));
  const int step_exp = int(std::floor(std::log10(step) + 1e-9));
  const bool scientific = max_abs >= 1e7 || (step_exp < -5 && max_abs > 0);
  std::vector<std::string> out;
  char buf[64];
  for (double t : ticks) {
    if (!scientific) {
      std::snprintf(buf, sizeof buf, "%.*f", std::max(0, -step_exp), t);
    } else if (t == 0) {
      std::snprintf(buf, sizeof buf, "0");
    } else {
      const int digits = std::clamp(int(std::floor(std::log10(std::fabs(t)) + 1e-9)) - step_exp, 0, 6);
      std::snprintf(buf, sizeof buf, "%.*e", digits, t);
      // 2.0e-05 -> 2.0e-5: the padded exponent only adds width.
      std::string s = buf;
      const size_t e = s.find('e');
      std::string mant = s.substr(0, e), ex = s.substr(e + 1);
      const char sign = ex[0];
      ex = ex.substr(1);
      while (ex.size() > 1 && ex[0] == '0') ex.erase(0, 1);
      s = mant + "e" + (sign == '-' ? "-" : "") + ex;
      out.push_back(s);
      continue;
    }
    out.push_back(buf);
  }
  return out;
}

struct Axis {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> ticks;
  std::vector<std::string> labels;
  double max_label_width = 0;
};

// Ticks for the limits [lo, hi] on an axis `length_px` long: the finest 1-2-5 step that keeps
// ticks at least `min_gap_px` apart and their labels (measured by `extent`) from touching.
// integer_only keeps steps >= 1, so an epoch axis never shows half epochs.
Axis choose_ticks(double lo, double hi, double length_px, double min_gap_px, bool integer_only,
                  const std::function<double(const std::string&)>& extent) {
  Axis a;
  a.lo = lo;
  a.hi = hi;
  const double span = hi - lo;
  const double max_ticks = std::max(2.0, std::floor(length_px / min_gap_px));
  double step = nice_step_at_least(span / max_ticks);
  if (integer_only) step = std::max(step, 1.0);
  for (int attempt = 0; attempt < 60; ++attempt) {
    a.step = step;
    a.ticks = tick_values(lo, hi, step);
    a.labels = tick_labels(a.ticks, step);
    double widest = 0;
    for (const std::string& s : a.labels) widest = std::max(widest, extent(s));
    if (a.ticks.size() <= 2 || widest + 8 <= step / span * length_px) break;
    step = next_nice_step(step);
  }
  // Margins need the labels' horizontal width, whichever extent spaced them.
  a.max_label_width = 0;
  for (const std::string& s : a.labels)
    a.max_label_width = std::max(a.max_label_width, font().text_width(s, kTickSize));
  return a;
}

// Axis limits around data [lo, hi] with matplotlib's 5% margins. A single value gets a span
// around it (10% of its size, or 1 when it is 0 or the axis counts whole numbers).
std::pair<double, double> padded_limits(double lo, double hi, bool integer_only) {
  if (!(hi > lo)) {
    const double half = integer_only ? 1.0 : (lo != 0 ? std::fabs(lo) * 0.1 : 1.0);
    lo -= half;
    hi += half;
  }
  const double margin = (hi - lo) * 0.05;
  return {lo - margin, hi + margin};
}

// Shrinks a font size until `text` fits in `max_width` (never below min_size).
double fitted_size(const std::string& text, double size, double max_width, double min_size) {
  const double w = font().text_width(text, size);
  return w <= max_width || w <= 0 ? size : std::max(min_size, size * max_width / w);
}

// Cuts `text` to at most `max_width` pixels at `size`, ending it with "..." when it was cut,
// so one very long class or series name cannot squeeze the chart out of its figure.
std::string truncated(const std::string& text, double size, double max_width) {
  if (font().text_width(text, size) <= max_width) return text;
  std::string s = text;
  while (!s.empty() && font().text_width(s + "...", size) > max_width) {
    // Drop one whole UTF-8 character: continuation bytes, then the lead byte.
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xc0) == 0x80) s.pop_back();
    if (!s.empty()) s.pop_back();
  }
  return s + "...";
}

// A bar's value as people write counts: whole numbers (and anything from 1000 up) without
// decimals, other values with four significant digits.
std::string format_value(double v) {
  if (v == 0) return "0";  // not "-0"
  char buf[64];
  if (std::fabs(v) < 1e15 && (v == std::floor(v) || std::fabs(v) >= 1000))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Legend

struct LegendEntry {
  enum class Kind { Line, Dashed, Box };
  std::string name;
  Rgb colour;
  Kind kind;
};

constexpr double kLegendSample = 28;    // length of the line sample
constexpr double kLegendInset = 10;     // distance from the plot area's corner
constexpr double kMaxLegendName = 320;  // longer legend names are cut

struct Size {
  double w = 0, h = 0;
};

double legend_row_height() { return font().line_height(kLegendSize) * 1.2; }

Size legend_size(const std::vector<LegendEntry>& entries) {
  if (entries.empty()) return {};
  double widest = 0;
  for (const LegendEntry& e : entries) widest = std::max(widest, font().text_width(e.name, kLegendSize));
  return {8 + kLegendSample + 8 + widest + 10, 6 + entries.size() * legend_row_height() + 6};
}

void draw_legend(Canvas& c, const std::vector<LegendEntry>& entries, double x, double y) {
  if (entries.empty()) return;
  const Size s = legend_size(entries);
  x = std::round(x);
  y = std::round(y);
  // Translucent white box with a light frame, as matplotlib draws it.
  c.fill_rect(x, y, x + s.w, y + s.h, kWhite, 0.88f);
  const Rgb frame = rgb_hex(0xcccccc);
  c.hline(x, x + s.w, y, frame);
  c.hline(x, x + s.w, y + s.h - 1, frame);
  c.vline(x, y, y + s.h, frame);
  c.vline(x + s.w - 1, y, y + s.h, frame);
  const double row = legend_row_height();
  for (size_t i = 0; i < entries.size(); ++i) {
    const LegendEntry& e = entries[i];
    const double mid = std::floor(y + 6 + (i + 0.5) * row) + 0.5;
    const double sx0 = x + 8, sx1 = x + 8 + kLegendSample;
    switch (e.kind) {
      case LegendEntry::Kind::Line:
        c.line(sx0, mid, sx1, mid, 2.0, e.colour);
        break;
      case LegendEntry::Kind::Dashed:
        c.line(sx0, mid, sx1, mid, 1.5, e.colour, 6, 4);
        break;
      case LegendEntry::Kind::Box:
        c.fill_rect(sx0 + 6, mid - 7, sx1 - 6, mid + 7, e.colour);
        break;
    }
    c.text(font(), e.name, sx1 + 8, mid, kLegendSize, kInk, HAlign::Left, VAlign::Middle);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared frame: axes box, ticks, tick labels, axis labels, title

struct Frame {
  PlotArea area;
  Axis x, y;
};

void draw_grid(Canvas& c, const Frame& f, bool vertical_lines) {
  for (double t : f.y.ticks) c.hline(f.area.left, f.area.right, f.area.y_to_px(t), kGrid);
  if (vertical_lines)
    for (double t : f.x.ticks) c.vline(f.area.x_to_px(t), f.area.top, f.area.bottom, kGrid);
}

// The box sits just outside the plot area so data at the area's edge is never hidden by it.
void draw_box(Canvas& c, const PlotArea& a) {
  c.hline(a.left - 1, a.right + 1, a.top - 1, kSpine);
  c.hline(a.left - 1, a.right + 1, a.bottom, kSpine);
  c.vline(a.left - 1, a.top - 1, a.bottom + 1, kSpine);
  c.vline(a.right, a.top - 1, a.bottom + 1, kSpine);
}

void draw_y_ticks(Canvas& c, const Frame& f) {
  const PlotArea& a = f.area;
  for (size_t i = 0; i < f.y.ticks.size(); ++i) {
    const double py = std::floor(a.y_to_px(f.y.ticks[i])) + 0.5;
    c.hline(a.left - 1 - kTickLen, a.left - 1, py, kSpine);
    c.text(font(), f.y.labels[i], a.left - 1 - kTickLen - kTickGap, py, kTickSize, kInk, HAlign::Right,
           VAlign::Middle);
  }
}

void draw_x_ticks(Canvas& c, const Frame& f) {
  const PlotArea& a = f.area;
  for (size_t i = 0; i < f.x.ticks.size(); ++i) {
    const double px = std::floor(a.x_to_px(f.x.ticks[i])) + 0.5;
    c.vline(px, a.bottom + 1, a.bottom + 1 + kTickLen, kSpine);
    c.text(font(), f.x.labels[i], px, a.bottom + 1 + kTickLen + kTickGap, kTickSize, kInk, HAlign::Center,
           VAlign::Top);
  }
}

void draw_title(Canvas& c, const std::string& title, double centre_x) {
  if (title.empty()) return;
  const double size = fitted_size(title, kTitleSize, c.width() - 2.0 * kPad, 9);
  const double w = font().text_width(title, size);
  // Centred over the plot, but pulled back inside the image when the title is long.
  const double x = std::clamp(centre_x - w / 2, double(kPad), std::max(double(kPad), c.width() - kPad - w));
  c.text(font(), title, x, kPad, size, kInk, HAlign::Left, VAlign::Top);
}

double title_block(const std::string& title) {
  return title.empty() ? 8 : font().line_height(kTitleSize) + 12;
}
double label_block(const std::string& label) {
  return label.empty() ? 0 : font().line_height(kLabelSize) + 8;
}

void write_png(const std::string& path, const Canvas& canvas) {
  const std::vector<uint8_t> png = canvas.encode_png();
  write_file_atomic(path, png.data(), png.size());
}

// How an error message names a series: its quoted name, or its index when it has none.
// (Built with += because GCC 12 gives a false -Wrestrict warning for "'" + name + "'".)
std::string series_name(const std::string& name, size_t index) {
  std::string out = name.empty() ? "#" : "'";
  out += name.empty() ? std::to_string(index) : name + "'";
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Line plot

void write_line_plot_png(const std::string& path, const LinePlot& plot) {
  write_line_plot_png(path, plot, nullptr);
}

void write_line_plot_png(const std::string& path, const LinePlot& plot, PlotArea* area_out) {
  const std::string where = "line plot '" + path + "'";
  KILN_CHECK(!path.empty(), "line plot: the output path is empty");
  KILN_CHECK(plot.width >= 200 && plot.width <= 8000 && plot.height >= 150 && plot.height <= 8000, where,
             ": size ", plot.width, "x", plot.height,
             " is out of range (width 200..8000, height 150..8000 pixels)");
  KILN_CHECK(!plot.series.empty(), where, ": the series list is empty");

  // Data ranges over the points that will be drawn.
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  bool x_integral = true;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    KILN_CHECK(s.x.size() == s.y.size(), where, ": series ", series_name(s.name, i), " has ", s.x.size(),
               " x values but ", s.y.size(), " y values");
    for (size_t j = 0; j < s.x.size(); ++j) {
      KILN_CHECK(std::isfinite(s.x[j]), where, ": series ", series_name(s.name, i),
                 " has a non-finite x at index ", j);
      KILN_CHECK(j == 0 || s.x[j] > s.x[j - 1], where, ": series ", series_name(s.name, i),
                 " has x values that do not increase (x[", j - 1, "] = ", s.x[j - 1], ", x[", j,
                 "] = ", s.x[j], ")");
      if (!std::isfinite(s.y[j])) continue;
      x_lo = std::min(x_lo, s.x[j]);
      x_hi = std::max(x_hi, s.x[j]);
      y_lo = std::min(y_lo, s.y[j]);
      y_hi = std::max(y_hi, s.y[j]);
      x_integral = x_integral && s.x[j] == std::floor(s.x[j]);
    }
  }
  const bool has_marker = std::isfinite(plot.marker_x);
  if (has_marker) {
    x_lo = std::min(x_lo, plot.marker_x);
    x_hi = std::max(x_hi, plot.marker_x);
    x_integral = x_integral && plot.marker_x == std::floor(plot.marker_x);
  }
  if (!(x_lo <= x_hi)) x_lo = 0, x_hi = 1;
  if (!(y_lo <= y_hi)) y_lo = 0, y_hi = 1;
  KILN_CHECK(std::isfinite(x_hi - x_lo) && std::isfinite(y_hi - y_lo), where,
             ": the data range is too large to plot (x ", x_lo, "..", x_hi, ", y ", y_lo, "..", y_hi, ")");
  const auto [xl, xh] = padded_limits(x_lo, x_hi, x_integral);
  const auto [yl, yh] = padded_limits(y_lo, y_hi, false);

  // Layout: vertical margins are fixed by the fonts; the left margin follows the widest y
  // tick label, and the right margin leaves room for the last x tick label's overhang.
  const int W = plot.width, H = plot.height;
  const double tick_h = font().line_height(kTickSize);
  Frame f;
  PlotArea& a = f.area;
  a.top = int(std::ceil(kPad + title_block(plot.title)));
  a.bottom = int(H - std::ceil(kPad + kTickLen + kTickGap + tick_h + label_block(plot.x_label)));
  KILN_CHECK(a.bottom - a.top >= 40, where, ": height ", H, " leaves no room for the plot");
  auto height_of = [&](const std::string&) { return tick_h; };
  auto width_of = [&](const std::string& s) { return font().text_width(s, kTickSize); };
  f.y = choose_ticks(yl, yh, a.bottom - a.top, 55, false, height_of);
  const double y_label_w = plot.y_label.empty() ? 0 : font().line_height(kLabelSize) + 10;
  a.left = int(std::ceil(kPad + y_label_w + f.y.max_label_width + kTickGap + kTickLen + 1));
  a.right = W - 20;
  for (int pass = 0; pass < 2; ++pass) {
    f.x = choose_ticks(xl, xh, a.right - a.left, 80, x_integral, width_of);
    const double overhang = f.x.max_label_width / 2 + 4;
    a.right = int(W - std::max(20.0, std::ceil(overhang)));
    a.left = std::max(a.left, int(std::ceil(overhang)));
  }
  KILN_CHECK(a.right - a.left >= 40, where, ": width ", W, " leaves no room for the plot");
  a.x_min = xl;
  a.x_max = xh;
  a.y_min = yl;
  a.y_max = yh;

  Canvas c(W, H, kWhite);
  draw_grid(c, f, true);

  // Data, clipped to the plot area. Runs of consecutive finite points become polylines; a
  // run of one point becomes a dot so an isolated value is still visible.
  std::vector<std::pair<double, double>> inked;  // sampled pixels, for placing the legend
  c.set_clip(a.left, a.top, a.right, a.bottom);
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    std::vector<double> xs, ys;
    auto flush = [&] {
      if (xs.size() == 1) c.fill_circle(xs[0], ys[0], 3.5, series_colour(i));
      if (xs.size() > 1) c.polyline(xs, ys, 2.0, series_colour(i));
      for (size_t k = 0; k < xs.size(); ++k) {
        inked.emplace_back(xs[k], ys[k]);
        if (k + 1 < xs.size()) {
          const int n = int(std::hypot(xs[k + 1] - xs[k], ys[k + 1] - ys[k]) / 3);
          for (int m = 1; m <= n; ++m)
            inked.emplace_back(xs[k] + (xs[k + 1] - xs[k]) * m / (n + 1),
                               ys[k] + (ys[k + 1] - ys[k]) * m / (n + 1));
        }
      }
      xs.clear();
      ys.clear();
    };
    for (size_t j = 0; j < s.x.size(); ++j) {
      if (!std::isfinite(s.y[j])) {
        flush();
        continue;
      }
      xs.push_back(a.x_to_px(s.x[j]));
      ys.push_back(a.y_to_px(s.y[j]));
    }
    flush();
  }
  if (has_marker) {
    const double mx = std::floor(a.x_to_px(plot.marker_x)) + 0.5;
    c.line(mx, a.top, mx, a.bottom, 1.5, kMarker, 6, 4);
    for (double y = a.top; y < a.bottom; y += 3) inked.emplace_back(mx, y);
  }
  c.reset_clip();

  draw_box(c, a);
  draw_y_ticks(c, f);
  draw_x_ticks(c, f);
  if (!plot.x_label.empty())
    c.text(font(), plot.x_label, (a.left + a.right) / 2.0, a.bottom + 1 + kTickLen + kTickGap + tick_h + 6,
           kLabelSize, kInk, HAlign::Center, VAlign::Top);
  if (!plot.y_label.empty())
    c.text(font(), plot.y_label, kPad, (a.top + a.bottom) / 2.0, kLabelSize, kInk, HAlign::Left,
           VAlign::Middle, true);
  draw_title(c, plot.title, (a.left + a.right) / 2.0);

  // Legend in the corner that covers the fewest drawn points (matplotlib's 'best'), trying
  // upper right first.
  std::vector<LegendEntry> entries;
  for (size_t i = 0; i < plot.series.size(); ++i)
    if (!plot.series[i].name.empty())
      entries.push_back({truncated(plot.series[i].name, kLegendSize, kMaxLegendName), series_colour(i),
                         LegendEntry::Kind::Line});
  if (has_marker && !plot.marker_label.empty())
    entries.push_back(
        {truncated(plot.marker_label, kLegendSize, kMaxLegendName), kMarker, LegendEntry::Kind::Dashed});
  if (!entries.empty()) {
    const Size s = legend_size(entries);
    const double at_left = a.left + kLegendInset, at_right = a.right - kLegendInset - s.w;
    const double at_top = a.top + kLegendInset, at_bottom = a.bottom - kLegendInset - s.h;
    const std::pair<double, double> corners[4] = {
        {at_right, at_top}, {at_left, at_top}, {at_left, at_bottom}, {at_right, at_bottom}};
    size_t best = 0, best_hits = SIZE_MAX;
    for (size_t k = 0; k < 4; ++k) {
      size_t hits = 0;
      for (const auto& [px, py] : inked)
        hits += px >= corners[k].first - 3 && px <= corners[k].first + s.w + 3 &&
                py >= corners[k].second - 3 && py <= corners[k].second + s.h + 3;
      if (hits < best_hits) best = k, best_hits = hits;
    }
    draw_legend(c, entries, corners[best].first, corners[best].second);
  }

  write_png(path, c);
  if (area_out) *area_out = a;
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix heatmap

namespace {

// matplotlib's 'Blues' (ColorBrewer), near-white to dark blue; lightness falls monotonically.
Rgb blues(double t) {
  static const uint32_t stops[9] = {0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
                                    0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
  t = std::clamp(t, 0.0, 1.0) * 8;
  const int i = std::min(7, int(t));
  return plot::mix(rgb_hex(stops[i]), rgb_hex(stops[i + 1]), t - i);
}

}  // namespace

void write_confusion_matrix_png(const std::string& path, const std::vector<std::vector<int64_t>>& counts,
                                const std::vector<std::string>& class_names, const std::string& title) {
  write_confusion_matrix_png(path, counts, class_names, title, nullptr);
}

void write_confusion_matrix_png(const std::string& path, const std::vector<std::vector<int64_t>>& counts,
                                const std::vector<std::string>& class_names, const std::string& title,
                                PlotArea* area_out) {
  const std::string where = "confusion matrix plot '" + path + "'";
  KILN_CHECK(!path.empty(), "confusion matrix plot: the output path is empty");
  const size_t n = counts.size();
  KILN_CHECK(n > 0, where, ": counts is empty");
  KILN_CHECK(n <= 1000, where, ": ", n, " classes are too many to draw (at most 1000)");
  KILN_CHECK(class_names.size() == n, where, ": counts has ", n, " rows but there are ", class_names.size(),
             " class names");
  int64_t max_count = 0;
  for (size_t r = 0; r < n; ++r) {
    KILN_CHECK(counts[r].size() == n, where, ": counts is not square: row ", r, " has ", counts[r].size(),
               " entries, expected ", n);
    for (size_t col = 0; col < n; ++col) {
      KILN_CHECK(counts[r][col] >= 0, where, ": negative count ", counts[r][col], " at row ", r, " (actual '",
                 class_names[r], "'), column ", col);
      max_count = std::max(max_count, counts[r][col]);
    }
  }

  // Cells shrink as classes are added; labels and counts are sized to the cell.
  const int cell = int(std::clamp(560.0 / double(n), 6.0, 110.0));
  const int grid = int(n) * cell;
  const double tick_size = std::clamp(cell * 0.42, 7.0, 13.0);
  const double tick_h = font().line_height(tick_size);
  // Names are cut at 240 pixels so one long name cannot stretch the figure.
  std::vector<std::string> names;
  double name_w = 0;
  for (const std::string& s : class_names) {
    names.push_back(truncated(s, tick_size, 240));
    name_w = std::max(name_w, font().text_width(names.back(), tick_size));
  }
  // Column names run vertically (reading upwards, as seaborn rotates them) when the widest
  // would not fit across its cell.
  const bool vertical_x = name_w > cell * 0.92;
  const double x_names_h = vertical_x ? name_w : tick_h;
  const int tick_len = 4;

  // Colour bar: gradient over [0, max] with integer ticks on its right.
  const int bar_gap = cell < 30 ? 16 : 24, bar_w = 18;
  const double bar_max = max_count > 0 ? double(max_count) : 1.0;
  Axis bar_axis = choose_ticks(0, bar_max, grid, 34, true,
                               [&](const std::string&) { return font().line_height(kTickSize); });

  PlotArea a;
  a.left = int(std::ceil(kPad + font().line_height(kLabelSize) + 10 + name_w + kTickGap + tick_len));
  a.top = int(std::ceil(kPad + title_block(title)));
  // The half height of the top colour-bar label must not reach the image edge.
  a.top = std::max(a.top, int(std::ceil(kPad + font().line_height(kTickSize) / 2)));
  a.right = a.left + grid;
  a.bottom = a.top + grid;
  a.x_min = 0;
  a.x_max = double(n);
  a.y_min = double(n);  // row 0 at the top
  a.y_max = 0;
  const int bar_x0 = a.right + bar_gap, bar_x1 = bar_x0 + bar_w;
  const int W = int(std::ceil(bar_x1 + tick_len + kTickGap + bar_axis.max_label_width + kPad + 4));
  const int H =
      int(std::ceil(a.bottom + tick_len + kTickGap + x_names_h + 8 + font().line_height(kLabelSize) + kPad));

  Canvas c(W, H, kWhite);
  const Font& fnt = font();
  for (size_t r = 0; r < n; ++r)
    for (size_t col = 0; col < n; ++col) {
      const double t = double(counts[r][col]) / bar_max;
      const Rgb fill = blues(t);
      const double x0 = a.left + double(col) * cell, y0 = a.top + double(r) * cell;
      c.fill_rect(x0, y0, x0 + cell, y0 + cell, fill);
      // Counts as plain integers (fmt='d'), white on dark cells as seaborn picks it.
      if (cell < 14) continue;
      const std::string label = std::to_string(counts[r][col]);
      const double size = std::clamp(cell * 0.28, 7.0, 16.0);
      const double fitted = fitted_size(label, size, cell * 0.86, 1.0);
      if (fitted < 6) continue;
      const Rgb ink = plot::relative_luminance(fill) < 0.408 ? kWhite : kInk;
      c.text(fnt, label, x0 + cell / 2.0, y0 + cell / 2.0, fitted, ink, HAlign::Center, VAlign::Middle);
    }

  // Tick marks at the cell centres and the class names.
  for (size_t k = 0; k < n; ++k) {
    const double cy = std::floor(a.top + (k + 0.5) * cell) + 0.5;
    const double cx = std::floor(a.left + (k + 0.5) * cell) + 0.5;
    c.hline(a.left - tick_len, a.left, cy, kSpine);
    c.text(fnt, names[k], a.left - tick_len - kTickGap, cy, tick_size, kInk, HAlign::Right, VAlign::Middle);
    c.vline(cx, a.bottom, a.bottom + tick_len, kSpine);
    c.text(fnt, names[k], cx, a.bottom + tick_len + kTickGap, tick_size, kInk, HAlign::Center, VAlign::Top,
           vertical_x);
  }
  c.text(fnt, "predicted", (a.left + a.right) / 2.0, a.bottom + tick_len + kTickGap + x_names_h + 8,
         kLabelSize, kInk, HAlign::Center, VAlign::Top);
  c.text(fnt, "actual", kPad, (a.top + a.bottom) / 2.0, kLabelSize, kInk, HAlign::Left, VAlign::Middle, true);

  // Colour bar, top = max.
  for (int y = a.top; y < a.bottom; ++y)
    c.fill_rect(bar_x0, y, bar_x1, y + 1, blues(1.0 - (y + 0.5 - a.top) / double(grid)));
  for (size_t i = 0; i < bar_axis.ticks.size(); ++i) {
    const double py = std::floor(a.bottom - bar_axis.ticks[i] / bar_max * grid) + 0.5;
    const double row = std::min(py, a.bottom - 0.5);
    c.hline(bar_x1, bar_x1 + tick_len, row, kSpine);
    c.text(fnt, bar_axis.labels[i], bar_x1 + tick_len + kTickGap, row, kTickSize, kInk, HAlign::Left,
           VAlign::Middle);
  }
  draw_title(c, title, (a.left + a.right) / 2.0);

  write_png(path, c);
  if (area_out) *area_out = a;
}

// ---------------------------------------------------------------------------------------------
// Grouped bar chart

void write_bar_chart_png(const std::string& path, const std::string& title, const std::string& y_label,
                         const std::vector<std::string>& categories, const std::vector<BarSeries>& series) {
  write_bar_chart_png(path, title, y_label, categories, series, nullptr);
}

void write_bar_chart_png(const std::string& path, const std::string& title, const std::string& y_label,
                         const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                         PlotArea* area_out) {
  const std::string where = "bar chart '" + path + "'";
  KILN_CHECK(!path.empty(), "bar chart: the output path is empty");
  KILN_CHECK(!categories.empty(), where, ": no categories");
  KILN_CHECK(categories.size() <= 1000, where, ": ", categories.size(),
             " categories are too many (at most 1000)");
  KILN_CHECK(!series.empty(), where, ": the series list is empty");
  double v_lo = 0, v_hi = 0;
  for (size_t i = 0; i < series.size(); ++i) {
    const BarSeries& s = series[i];
    KILN_CHECK(s.values.size() == categories.size(), where, ": series ", series_name(s.name, i), " has ",
               s.values.size(), " values but there are ", categories.size(), " categories");
    for (size_t j = 0; j < s.values.size(); ++j) {
      KILN_CHECK(std::isfinite(s.values[j]), where, ": series ", series_name(s.name, i),
                 " has a non-finite value for '", categories[j], "'");
      v_lo = std::min(v_lo, s.values[j]);
      v_hi = std::max(v_hi, s.values[j]);
    }
  }
  KILN_CHECK(std::isfinite(v_hi - v_lo), where, ": the values are too large to plot");
  if (v_hi == v_lo) v_hi = 1;

  const size_t ncat = categories.size(), ns = series.size();
  const double tick_h = font().line_height(kTickSize);
  // Category names are cut at a third of the figure's height, the most they may take when
  // they run upright under narrow groups.
  const int H = 560;
  std::vector<std::string> cat_names;
  double cat_w = 0;
  for (const std::string& s : categories) {
    cat_names.push_back(truncated(s, kTickSize, H / 3.0));
    cat_w = std::max(cat_w, font().text_width(cat_names.back(), kTickSize));
  }
  std::vector<std::vector<std::string>> value_text(ns);
  double value_w = 0;
  for (size_t i = 0; i < ns; ++i)
    for (double v : series[i].values) {
      value_text[i].push_back(format_value(v));
      value_w = std::max(value_w, font().text_width(value_text[i].back(), 12));
    }
  // Wide enough for bars of at least ~12 pixels, so many categories widen the figure rather
  // than shrink bars to slivers; value labels that no longer fit across a bar turn upright.
  const double min_group = std::max(24.0, ns * 15.0 + 8);
  const int W = int(std::clamp(200 + ncat * min_group, 900.0, 8000.0));

  std::vector<LegendEntry> entries;
  for (size_t i = 0; i < ns; ++i)
    if (!series[i].name.empty())
      entries.push_back(
          {truncated(series[i].name, kLegendSize, kMaxLegendName), series_colour(i), LegendEntry::Kind::Box});
  const Size legend = legend_size(entries);

  Frame f;
  PlotArea& a = f.area;
  a.top = int(std::ceil(kPad + title_block(title)));
  a.left = 80;
  a.right = W - 20;
  bool vertical_x = false, vertical_values = false;
  double value_size = 12;
  double lo = v_lo < 0 ? v_lo - (v_hi - v_lo) * 0.12 : 0, hi = v_hi;
  bool legend_left = false;
  // Two passes: the margins depend on the tick labels, which depend on the range, which must
  // leave room above the bars for labels and the legend at the plot's current width.
  for (int pass = 0; pass < 2; ++pass) {
    const double group_px = double(a.right - a.left) / ncat;
    const double bar_px = group_px * 0.8 / ns;
    vertical_x = cat_w > group_px * 0.95;
    a.bottom = int(H - std::ceil(kPad + kTickLen + kTickGap + (vertical_x ? cat_w : tick_h)));
    // Value labels: 12 px when they fit over a bar, smaller down to 9 px, else turned upright.
    // Bars of one group touch, so a label may not be much wider than its bar.
    value_size = value_w <= bar_px + 2 ? 12.0 : 12.0 * (bar_px + 2) / value_w;
    vertical_values = value_size < 9;
    if (vertical_values) value_size = std::clamp(bar_px / 1.2, 7.0, 12.0);
    double label_px = 0;
    for (const auto& texts : value_text)
      for (const std::string& t : texts)
        label_px = std::max(
            label_px, vertical_values ? font().text_width(t, value_size) : font().line_height(value_size));
    label_px += 4;
    const double plot_h = a.bottom - a.top;
    // Smallest top limit that leaves `need` pixels above a bar of value v.
    auto top_for = [&](double v, double need) {
      const double frac = std::min(need / plot_h, 0.7);
      return v <= 0 ? lo + (0 - lo) / (1 - frac) : lo + (v - lo) / (1 - frac);
    };
    // Legend in the upper right or upper left, whichever needs less headroom.
    auto needed_top = [&](bool left_side) {
      double t = v_hi + (v_hi - lo) * 0.02;
      const double lx0 = left_side ? a.left + kLegendInset : a.right - kLegendInset - legend.w;
      const double lx1 = lx0 + legend.w;
      for (size_t i = 0; i < ns; ++i)
        for (size_t j = 0; j < ncat; ++j) {
          const double v = series[i].values[j];
          const double bx0 = a.left + (j + 0.1 + 0.8 * i / ns) * group_px, bx1 = bx0 + bar_px;
          double need = label_px;
          if (!entries.empty() && bx1 > lx0 - 4 && bx0 < lx1 + 4) need += kLegendInset + legend.h + 4;
          t = std::max(t, top_for(v, need));
        }
      return t;
    };
    const double right_top = needed_top(false), left_top = needed_top(true);
    legend_left = left_top < right_top * 0.999;
    hi = legend_left ? left_top : right_top;
    f.y = choose_ticks(lo, hi, plot_h, 55, false, [&](const std::string&) { return tick_h; });
    const double y_label_w = y_label.empty() ? 0 : font().line_height(kLabelSize) + 10;
    a.left = int(std::ceil(kPad + y_label_w + f.y.max_label_width + kTickGap + kTickLen + 1));
  }
  a.x_min = -0.5;
  a.x_max = double(ncat) - 0.5;
  a.y_min = lo;
  a.y_max = hi;

  Canvas c(W, H, kWhite);
  draw_grid(c, f, false);
  for (size_t i = 0; i < ns; ++i)
    for (size_t j = 0; j < ncat; ++j) {
      const double v = series[i].values[j];
      // Side edges snapped to whole pixels: two anti-aliased edges meeting inside one pixel
      // would let the background show through as a pale seam between touching bars.
      const double x0 = std::round(a.x_to_px(j - 0.4 + 0.8 * i / ns));
      const double x1 = std::round(a.x_to_px(j - 0.4 + 0.8 * (i + 1) / ns));
      const double y0 = a.y_to_px(0), y1 = a.y_to_px(v);
      c.fill_rect(x0, std::min(y0, y1), x1, std::max(y0, y1), series_colour(i));
      const double cx = (x0 + x1) / 2;
      const bool up = v >= 0;
      if (vertical_values)
        c.text(font(), value_text[i][j], cx, up ? y1 - 3 : y1 + 3, value_size, kInk, HAlign::Center,
               up ? VAlign::Bottom : VAlign::Top, true);
      else
        c.text(font(), value_text[i][j], cx, up ? y1 - 3 : y1 + 3, value_size, kInk, HAlign::Center,
               up ? VAlign::Bottom : VAlign::Top);
    }
  if (lo < 0) c.hline(a.left, a.right, a.y_to_px(0), kSpine);
  draw_box(c, a);
  draw_y_ticks(c, f);
  for (size_t j = 0; j < ncat; ++j) {
    const double px = std::floor(a.x_to_px(double(j))) + 0.5;
    c.vline(px, a.bottom + 1, a.bottom + 1 + kTickLen, kSpine);
    c.text(font(), cat_names[j], px, a.bottom + 1 + kTickLen + kTickGap, kTickSize, kInk, HAlign::Center,
           VAlign::Top, vertical_x);
  }
  if (!y_label.empty())
    c.text(font(), y_label, kPad, (a.top + a.bottom) / 2.0, kLabelSize, kInk, HAlign::Left, VAlign::Middle,
           true);
  draw_title(c, title, (a.left + a.right) / 2.0);
  if (!entries.empty())
    draw_legend(c, entries, legend_left ? a.left + kLegendInset : a.right - kLegendInset - legend.w,
                a.top + kLegendInset);

  write_png(path, c);
  if (area_out) *area_out = a;
}

}  // namespace kiln
