// Raster drawing for kiln's figures: coverage-based anti-aliasing for lines and rectangles,
// text through stb_truetype (DejaVu Sans) with stb_easy_font as the fallback, and PNG
// encoding through stb_image_write. The stb implementations are compiled here, static, so
// they cannot clash with other copies elsewhere in the library.
#include "trainers/plot/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"

// The stb headers are third-party C; their warnings are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#define STB_TRUETYPE_IMPLEMENTATION
#define STBTT_STATIC
#include <stb/stb_truetype.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace kiln::plot {

Rgb rgb_hex(uint32_t hex) {
  return {float((hex >> 16) & 0xff) / 255.0f, float((hex >> 8) & 0xff) / 255.0f, float(hex & 0xff) / 255.0f};
}

Rgb mix(Rgb a, Rgb b, double t) {
  const float u = float(std::clamp(t, 0.0, 1.0));
  return {a.r + (b.r - a.r) * u, a.g + (b.g - a.g) * u, a.b + (b.b - a.b) * u};
}

double relative_luminance(Rgb c) {
  auto linear = [](double v) { return v <= 0.03928 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b);
}

// ---------------------------------------------------------------------------------------------
// Fonts

namespace {

// Decodes UTF-8; malformed bytes become U+FFFD so a bad label still draws something.
std::vector<int> utf8_codepoints(const std::string& s) {
  std::vector<int> out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    int cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (d & 0x3f);
    }
    out.push_back(ok ? cp : 0xfffd);
    i += ok ? len : 1;
  }
  return out;
}

// stb_easy_font covers printable ASCII only; anything else is shown as '?'.
std::string ascii_for_stroke_font(const std::string& s) {
  std::string out;
  for (int cp : utf8_codepoints(s)) out.push_back(cp >= 32 && cp < 127 ? char(cp) : '?');
  return out;
}

// stb_easy_font draws capitals 7 units tall with the baseline at y = 7; this scale makes its
// cap height match DejaVu Sans's (0.73 em) at the same size.
constexpr double kStrokeUnitsPerEm = 9.6;

// Area of [a0, a1) x [b0, b1) inside the unit pixel at (px, py).
float pixel_overlap(double a0, double a1, double b0, double b1, int px, int py) {
  const double w = std::min(a1, px + 1.0) - std::max(a0, double(px));
  const double h = std::min(b1, py + 1.0) - std::max(b0, double(py));
  return w > 0 && h > 0 ? float(w * h) : 0.0f;
}

}  // namespace

struct Font::Impl {
  bool truetype = false;
  std::vector<unsigned char> data;
  stbtt_fontinfo info{};
  double ascent_em = 0;   // positive, in ems
  double descent_em = 0;  // positive, in ems
};

Font::Font(const std::string& ttf_path) : impl_(std::make_unique<Impl>()) {
  std::ifstream in(ttf_path, std::ios::binary);
  if (in) impl_->data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const int offset = impl_->data.empty() ? -1 : stbtt_GetFontOffsetForIndex(impl_->data.data(), 0);
  if (offset >= 0 && stbtt_InitFont(&impl_->info, impl_->data.data(), offset)) {
    impl_->truetype = true;
    int ascent = 0, descent = 0, line_gap = 0;
    stbtt_GetFontVMetrics(&impl_->info, &ascent, &descent, &line_gap);
    const double per_unit = stbtt_ScaleForMappingEmToPixels(&impl_->info, 1.0f);
    impl_->ascent_em = ascent * per_unit;
    impl_->descent_em = -descent * per_unit;
  } else {
    impl_->data.clear();
    impl_->ascent_em = 8.0 / kStrokeUnitsPerEm;
    impl_->descent_em = 2.5 / kStrokeUnitsPerEm;
  }
}

Font::~Font() = default;

const Font& Font::default_font() {
  // Debian's fonts-dejavu-core path first, then where other distributions put it.
  static const Font font([] {
    for (const char* p :
         {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
          "/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"}) {
      if (std::ifstream(p).good()) return std::string(p);
    }
    return std::string();
  }());
  return font;
}

bool Font::is_truetype() const { return impl_->truetype; }

double Font::line_height(double size) const { return (impl_->ascent_em + impl_->descent_em) * size; }

double Font::text_width(const std::string& text, double size) const {
  if (!impl_->truetype) {
    std::string s = ascii_for_stroke_font(text);
    return stb_easy_font_width(s.data()) * size / kStrokeUnitsPerEm;
  }
  const float scale = stbtt_ScaleForMappingEmToPixels(&impl_->info, float(size));
  double pen = 0;
  int prev = 0;
  for (int cp : utf8_codepoints(text)) {
    int advance = 0, lsb = 0;
    if (prev) pen += stbtt_GetCodepointKernAdvance(&impl_->info, prev, cp) * scale;
    stbtt_GetCodepointHMetrics(&impl_->info, cp, &advance, &lsb);
    pen += advance * scale;
    prev = cp;
  }
  return pen;
}

TextMask Font::render(const std::string& text, double size) const {
  TextMask m;
  m.ascent = impl_->ascent_em * size;
  m.descent = impl_->descent_em * size;
  m.advance = text_width(text, size);
  // The mask spans the line box and the advance, widened to any ink that overhangs them.
  int min_x = 0, max_x = int(std::ceil(m.advance));
  int min_y = -int(std::ceil(m.ascent)), max_y = int(std::ceil(m.descent));

  if (!impl_->truetype) {
    std::string s = ascii_for_stroke_font(text);
    const double unit = size / kStrokeUnitsPerEm;
    std::vector<char> quads(s.size() * 300 + 64);
    const int n = stb_easy_font_print(0, 0, s.data(), nullptr, quads.data(), int(quads.size()));
    // Quads come as 4 vertices of 16 bytes (x, y, z floats, colour); they are axis-aligned.
    struct Box {
      double x0, y0, x1, y1;
    };
    std::vector<Box> boxes;
    for (int q = 0; q < n; ++q) {
      float v[8];
      for (int k = 0; k < 4; ++k) std::memcpy(&v[2 * k], quads.data() + (q * 4 + k) * 16, 2 * sizeof(float));
      const double x0 = std::min({v[0], v[2], v[4], v[6]}) * unit,
                   x1 = std::max({v[0], v[2], v[4], v[6]}) * unit;
      // Baseline at 7 units: shift so y = 0 is the baseline.
      const double y0 = (std::min({v[1], v[3], v[5], v[7]}) - 7.0) * unit;
      const double y1 = (std::max({v[1], v[3], v[5], v[7]}) - 7.0) * unit;
      boxes.push_back({x0, y0, x1, y1});
      min_x = std::min(min_x, int(std::floor(x0)));
      max_x = std::max(max_x, int(std::ceil(x1)));
      min_y = std::min(min_y, int(std::floor(y0)));
      max_y = std::max(max_y, int(std::ceil(y1)));
    }
    m.width = max_x - min_x + 2;
    m.height = max_y - min_y + 2;
    m.origin_x = 1 - min_x;
    m.baseline = 1 - min_y;
    m.alpha.assign(size_t(m.width) * m.height, 0.0f);
    for (const Box& b : boxes) {
      const double x0 = b.x0 + m.origin_x, x1 = b.x1 + m.origin_x, y0 = b.y0 + m.baseline,
                   y1 = b.y1 + m.baseline;
      for (int py = int(std::floor(y0)); py < int(std::ceil(y1)); ++py)
        for (int px = int(std::floor(x0)); px < int(std::ceil(x1)); ++px) {
          float& a = m.alpha[size_t(py) * m.width + px];
          a = std::min(1.0f, a + pixel_overlap(x0, x1, y0, y1, px, py));
        }
    }
    return m;
  }

  const stbtt_fontinfo* info = &impl_->info;
  const float scale = stbtt_ScaleForMappingEmToPixels(info, float(size));
  struct Glyph {
    int cp;
    int pen_x;      // integer part of the pen position
    float shift_x;  // fractional part, rendered as a sub-pixel shift
    int x0, y0, x1, y1;
  };
  std::vector<Glyph> glyphs;
  double pen = 0;
  int prev = 0;
  for (int cp : utf8_codepoints(text)) {
    if (prev) pen += stbtt_GetCodepointKernAdvance(info, prev, cp) * scale;
    Glyph g{cp, int(std::floor(pen)), float(pen - std::floor(pen)), 0, 0, 0, 0};
    stbtt_GetCodepointBitmapBoxSubpixel(info, cp, scale, scale, g.shift_x, 0.0f, &g.x0, &g.y0, &g.x1, &g.y1);
    if (g.x1 > g.x0 && g.y1 > g.y0) {
      min_x = std::min(min_x, g.pen_x + g.x0);
      max_x = std::max(max_x, g.pen_x + g.x1);
      min_y = std::min(min_y, g.y0);
      max_y = std::max(max_y, g.y1);
    }
    glyphs.push_back(g);
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(info, cp, &advance, &lsb);
    pen += advance * scale;
    prev = cp;
  }
  m.width = max_x - min_x + 2;
  m.height = max_y - min_y + 2;
  m.origin_x = 1 - min_x;
  m.baseline = 1 - min_y;
  m.alpha.assign(size_t(m.width) * m.height, 0.0f);
  std::vector<unsigned char> bitmap;
  for (const Glyph& g : glyphs) {
    const int w = g.x1 - g.x0, h = g.y1 - g.y0;
    if (w <= 0 || h <= 0) continue;
    bitmap.assign(size_t(w) * h, 0);
    stbtt_MakeCodepointBitmapSubpixel(info, bitmap.data(), w, h, w, scale, scale, g.shift_x, 0.0f, g.cp);
    const int ox = m.origin_x + g.pen_x + g.x0, oy = m.baseline + g.y0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        float& a = m.alpha[size_t(oy + y) * m.width + ox + x];
        a = std::min(1.0f, a + bitmap[size_t(y) * w + x] / 255.0f);
      }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Canvas

Canvas::Canvas(int width, int height, Rgb background) : width_(width), height_(height) {
  KILN_CHECK(width > 0 && height > 0 && width <= 20000 && height <= 20000, "canvas size ", width, "x", height,
             " is out of range (1..20000 pixels per side)");
  rgb_.resize(size_t(width) * height * 3);
  for (size_t i = 0; i < size_t(width) * height; ++i) {
    rgb_[3 * i] = background.r;
    rgb_[3 * i + 1] = background.g;
    rgb_[3 * i + 2] = background.b;
  }
  reset_clip();
}

Rgb Canvas::pixel(int x, int y) const {
  const size_t i = (size_t(y) * width_ + x) * 3;
  return {rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void Canvas::set_clip(double x0, double y0, double x1, double y1) {
  clip_x0_ = x0;
  clip_y0_ = y0;
  clip_x1_ = x1;
  clip_y1_ = y1;
}

void Canvas::reset_clip() { set_clip(0, 0, width_, height_); }

void Canvas::blend(int x, int y, Rgb c, float alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || alpha <= 0) return;
  const double cx = x + 0.5, cy = y + 0.5;
  if (cx < clip_x0_ || cx >= clip_x1_ || cy < clip_y0_ || cy >= clip_y1_) return;
  alpha = std::min(alpha, 1.0f);
  float* p = &rgb_[(size_t(y) * width_ + x) * 3];
  p[0] += (c.r - p[0]) * alpha;
  p[1] += (c.g - p[1]) * alpha;
  p[2] += (c.b - p[2]) * alpha;
}

void Canvas::fill_rect(double x0, double y0, double x1, double y1, Rgb c, float alpha) {
  if (x1 < x0) std::swap(x0, x1);
  if (y1 < y0) std::swap(y0, y1);
  const int px0 = std::max(0, int(std::floor(x0))), px1 = std::min(width_, int(std::ceil(x1)));
  const int py0 = std::max(0, int(std::floor(y0))), py1 = std::min(height_, int(std::ceil(y1)));
  for (int py = py0; py < py1; ++py)
    for (int px = px0; px < px1; ++px) blend(px, py, c, alpha * pixel_overlap(x0, x1, y0, y1, px, py));
}

void Canvas::hline(double x0, double x1, double y, Rgb c, float alpha) {
  const double row = std::floor(y);
  fill_rect(std::round(std::min(x0, x1)), row, std::round(std::max(x0, x1)), row + 1, c, alpha);
}

void Canvas::vline(double x, double y0, double y1, Rgb c, float alpha) {
  const double col = std::floor(x);
  fill_rect(col, std::round(std::min(y0, y1)), col + 1, std::round(std::max(y0, y1)), c, alpha);
}

void Canvas::line(double x0, double y0, double x1, double y1, double width, Rgb c, double dash, double gap) {
  polyline({x0, x1}, {y0, y1}, width, c, dash, gap);
}

void Canvas::polyline(const std::vector<double>& xs, const std::vector<double>& ys, double width, Rgb c,
                      double dash, double gap) {
  if (xs.empty() || xs.size() != ys.size()) return;
  // Split into the segments actually inked (the dashes, when dashed).
  struct Seg {
    double x0, y0, x1, y1;
  };
  std::vector<Seg> segs;
  if (xs.size() == 1) segs.push_back({xs[0], ys[0], xs[0], ys[0]});
  if (dash > 0 && gap > 0) {
    // Round caps add half a width at each end of a dash; shorten dashes so the pattern keeps
    // its nominal lengths.
    const double ink = std::max(0.5, dash - width), period = dash + gap;
    double phase = 0;  // distance along the pattern at the current segment's start
    for (size_t i = 0; i + 1 < xs.size(); ++i) {
      const double dx = xs[i + 1] - xs[i], dy = ys[i + 1] - ys[i], len = std::hypot(dx, dy);
      double s = 0;
      while (s < len) {
        const double within = std::fmod(phase + s, period);
        if (within < ink) {
          const double e = std::min(len, s + (ink - within));
          segs.push_back(
              {xs[i] + dx * s / len, ys[i] + dy * s / len, xs[i] + dx * e / len, ys[i] + dy * e / len});
          s = e;
        } else {
          s += period - within;
        }
      }
      phase = std::fmod(phase + len, period);
    }
  } else {
    for (size_t i = 0; i + 1 < xs.size(); ++i) segs.push_back({xs[i], ys[i], xs[i + 1], ys[i + 1]});
  }
  if (segs.empty()) return;

  const double half = width / 2;
  double bx0 = 1e300, by0 = 1e300, bx1 = -1e300, by1 = -1e300;
  for (const Seg& s : segs) {
    bx0 = std::min({bx0, s.x0, s.x1});
    by0 = std::min({by0, s.y0, s.y1});
    bx1 = std::max({bx1, s.x0, s.x1});
    by1 = std::max({by1, s.y0, s.y1});
  }
  const int mx0 = std::max(0, int(std::floor(bx0 - half - 1))),
            my0 = std::max(0, int(std::floor(by0 - half - 1)));
  const int mx1 = std::min(width_, int(std::ceil(bx1 + half + 1))),
            my1 = std::min(height_, int(std::ceil(by1 + half + 1)));
  if (mx1 <= mx0 || my1 <= my0) return;
  const int mw = mx1 - mx0, mh = my1 - my0;
  std::vector<float> mask(size_t(mw) * mh, 0.0f);
  for (const Seg& s : segs) {
    const int x0 = std::max(mx0, int(std::floor(std::min(s.x0, s.x1) - half - 1)));
    const int x1 = std::min(mx1, int(std::ceil(std::max(s.x0, s.x1) + half + 1)));
    const int y0 = std::max(my0, int(std::floor(std::min(s.y0, s.y1) - half - 1)));
    const int y1 = std::min(my1, int(std::ceil(std::max(s.y0, s.y1) + half + 1)));
    const double dx = s.x1 - s.x0, dy = s.y1 - s.y0, len2 = dx * dx + dy * dy;
    for (int py = y0; py < y1; ++py)
      for (int px = x0; px < x1; ++px) {
        // Coverage from the distance between the pixel centre and the segment: a box filter
        // of one pixel across the line's edge.
        const double qx = px + 0.5 - s.x0, qy = py + 0.5 - s.y0;
        const double t = len2 > 0 ? std::clamp((qx * dx + qy * dy) / len2, 0.0, 1.0) : 0.0;
        const double d = std::hypot(qx - t * dx, qy - t * dy);
        const float cov = float(std::clamp(half + 0.5 - d, 0.0, 1.0));
        float& a = mask[size_t(py - my0) * mw + (px - mx0)];
        a = std::max(a, cov);
      }
  }
  blend_mask(mask, mx0, my0, mw, mh, c);
}

void Canvas::fill_circle(double cx, double cy, double radius, Rgb c) {
  const int x0 = int(std::floor(cx - radius - 1)), x1 = int(std::ceil(cx + radius + 1));
  const int y0 = int(std::floor(cy - radius - 1)), y1 = int(std::ceil(cy + radius + 1));
  for (int py = y0; py < y1; ++py)
    for (int px = x0; px < x1; ++px) {
      const double d = std::hypot(px + 0.5 - cx, py + 0.5 - cy);
      blend(px, py, c, float(std::clamp(radius + 0.5 - d, 0.0, 1.0)));
    }
}

void Canvas::blend_mask(const std::vector<float>& mask, int mx0, int my0, int mw, int mh, Rgb c) {
  for (int y = 0; y < mh; ++y)
    for (int x = 0; x < mw; ++x) blend(mx0 + x, my0 + y, c, mask[size_t(y) * mw + x]);
}

void Canvas::text(const Font& font, const std::string& s, double x, double y, double size, Rgb c, HAlign h,
                  VAlign v, bool vertical) {
  if (s.empty()) return;
  const TextMask m = font.render(s, size);
  if (!vertical) {
    // Pen origin (left end of the baseline) in image coordinates, rounded so glyphs land on
    // whole pixels and stay as sharp as they were rendered.
    double ox = h == HAlign::Left ? x : h == HAlign::Center ? x - m.advance / 2 : x - m.advance;
    double oy = v == VAlign::Baseline ? y
                : v == VAlign::Top    ? y + m.ascent
                : v == VAlign::Bottom ? y - m.descent
                                      : y + (m.ascent - m.descent) / 2;
    blend_mask(m.alpha, int(std::lround(ox)) - m.origin_x, int(std::lround(oy)) - m.baseline, m.width,
               m.height, c);
    return;
  }
  // Rotated a quarter turn anticlockwise: mask column mx goes to screen row (end - mx), mask
  // row my goes to screen column (left + my). The line box (ascent above the baseline) then
  // runs left to right across the screen and the text runs bottom to top.
  const double box_w = m.ascent + m.descent;
  const double left = h == HAlign::Left ? x : h == HAlign::Center ? x - box_w / 2 : x - box_w;
  const double start = v == VAlign::Bottom ? y : v == VAlign::Top ? y + m.advance : y + m.advance / 2;
  // Screen column of the baseline, and screen row of the pen origin.
  const int base_col = int(std::lround(left + m.ascent));
  const int origin_row = int(std::lround(start));
  std::vector<float> rotated(size_t(m.width) * m.height);
  // rotated is m.height wide and m.width tall.
  for (int my = 0; my < m.height; ++my)
    for (int mx = 0; mx < m.width; ++mx)
      rotated[size_t(m.width - 1 - mx) * m.height + my] = m.alpha[size_t(my) * m.width + mx];
  // Mask row m.baseline lands on base_col; mask column m.origin_x lands on origin_row.
  const int sx0 = base_col - m.baseline;
  const int sy0 = origin_row - (m.width - 1 - m.origin_x);
  blend_mask(rotated, sx0, sy0, m.height, m.width, c);
}

std::vector<uint8_t> Canvas::encode_png() const {
  std::vector<unsigned char> pixels(rgb_.size());
  for (size_t i = 0; i < rgb_.size(); ++i)
    pixels[i] = (unsigned char)std::lround(std::clamp(rgb_[i], 0.0f, 1.0f) * 255.0f);
  std::vector<uint8_t> png;
  auto sink = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    const auto* bytes = static_cast<const uint8_t*>(data);
    out->insert(out->end(), bytes, bytes + size);
  };
  const int ok = stbi_write_png_to_func(sink, &png, width_, height_, 3, pixels.data(), width_ * 3);
  KILN_CHECK(ok && !png.empty(), "PNG encoding of a ", width_, "x", height_, " image failed");
  return png;
}

}  // namespace kiln::plot
