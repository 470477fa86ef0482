// The raster behind kiln's PNG figures: an RGB image with anti-aliased thick lines, filled
// rectangles and text (TrueType through stb_truetype, or stb_easy_font's strokes when no font
// file is installed), encoded to PNG in memory. plots.cpp lays charts out on top of it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::plot {

// An sRGB colour with channels in [0, 1]; blending happens in this space, as most plotting
// libraries do, so colours match their usual look.
struct Rgb {
  float r = 0, g = 0, b = 0;
};

// 0xRRGGBB -> Rgb.
Rgb rgb_hex(uint32_t hex);
// Linear interpolation between two colours, t in [0, 1].
Rgb mix(Rgb a, Rgb b, double t);
// WCAG relative luminance (0 = black, 1 = white), used to pick readable text colours.
double relative_luminance(Rgb c);

enum class HAlign { Left, Center, Right };
enum class VAlign { Top, Middle, Baseline, Bottom };

// A rendered line of text: a coverage mask (0..1 per pixel), with the pen's origin at
// (origin_x, baseline) inside the mask and the text's advance width.
struct TextMask {
  int width = 0;
  int height = 0;
  int origin_x = 0;
  int baseline = 0;
  double advance = 0;
  double ascent = 0;   // above the baseline, pixels
  double descent = 0;  // below the baseline, pixels (positive)
  std::vector<float> alpha;
};

// A font at any pixel size. Loading is done once per Font; default_font() is a process-wide
// DejaVu Sans, or the built-in stroke font when no DejaVu file can be read, so drawing text
// never fails for lack of a font.
class Font {
 public:
  // Reads a TrueType file; if it is missing or not a font, this Font uses the stroke font.
  explicit Font(const std::string& ttf_path);
  ~Font();
  Font(const Font&) = delete;
  Font& operator=(const Font&) = delete;

  static const Font& default_font();

  bool is_truetype() const;
  // Advance width of `text` at em size `size` pixels (UTF-8; unknown characters still take space).
  double text_width(const std::string& text, double size) const;
  // Height of a line box (ascent + descent) at `size`.
  double line_height(double size) const;
  TextMask render(const std::string& text, double size) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Canvas {
 public:
  Canvas(int width, int height, Rgb background);

  int width() const { return width_; }
  int height() const { return height_; }
  Rgb pixel(int x, int y) const;

  // Restricts drawing to the pixels whose centres lie in [x0, x1) x [y0, y1); reset_clip()
  // restores the whole image. Used to keep data lines inside the plot area.
  void set_clip(double x0, double y0, double x1, double y1);
  void reset_clip();

  // Mixes `c` into one pixel with weight `alpha` (0..1).
  void blend(int x, int y, Rgb c, float alpha);
  // Fills the continuous rectangle [x0, x1) x [y0, y1); pixels cut by an edge get partial
  // coverage, so bars with fractional edges stay smooth.
  void fill_rect(double x0, double y0, double x1, double y1, Rgb c, float alpha = 1.0f);
  // A crisp 1-pixel line for axes, ticks and grids: the coordinate is snapped to the pixel
  // that contains it so the line is one solid pixel wide instead of two half-tone ones.
  void hline(double x0, double x1, double y, Rgb c, float alpha = 1.0f);
  void vline(double x, double y0, double y1, Rgb c, float alpha = 1.0f);
  // An anti-aliased polyline of `width` pixels with round joins and caps. Coverage is
  // accumulated as a maximum over segments before blending, so joins are not darker than the
  // rest of the line. dash > 0 draws dashes of that length separated by `gap`.
  void polyline(const std::vector<double>& xs, const std::vector<double>& ys, double width, Rgb c,
                double dash = 0, double gap = 0);
  void line(double x0, double y0, double x1, double y1, double width, Rgb c, double dash = 0, double gap = 0);
  void fill_circle(double cx, double cy, double radius, Rgb c);

  // Draws `text` anchored at (x, y). Horizontal text: h/v align the advance box and the
  // baseline. vertical = true rotates it a quarter turn anticlockwise (reading upwards, as
  // a y-axis label); then `h` aligns the line box horizontally and `v` aligns the text's
  // length (Top = its end is at y, Bottom = its start is at y; Baseline acts as Middle).
  void text(const Font& font, const std::string& text, double x, double y, double size, Rgb c,
            HAlign h = HAlign::Left, VAlign v = VAlign::Baseline, bool vertical = false);

  // The image as PNG bytes (8-bit RGB).
  std::vector<uint8_t> encode_png() const;

 private:
  void blend_mask(const std::vector<float>& mask, int mx0, int my0, int mw, int mh, Rgb c);

  int width_;
  int height_;
  std::vector<float> rgb_;  // width * height * 3
  double clip_x0_, clip_y0_, clip_x1_, clip_y1_;
};

}  // namespace kiln::plot
