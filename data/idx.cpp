// IDX reading (see idx.h): strict header and size validation, and gzip inflation with a hard
// output cap so a corrupt or hostile .gz cannot exhaust memory before it is rejected.
#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "core/file_io.h"

namespace kiln {

namespace {

constexpr uint8_t kIdxTypeUnsignedByte = 0x08;
constexpr int kIdxMaxDims = 4;
constexpr uint8_t kGzipMagic0 = 0x1f, kGzipMagic1 = 0x8b;
// zlib counts in uInt (32 bits): feed and drain it in pieces no larger than this.
constexpr size_t kZlibChunk = size_t(1) << 30;
// A gzip file can be slightly larger than what it inflates to (stored blocks add 5 bytes per
// 64 KiB, plus header and trailer), so the on-disk read cap leaves room for that.
constexpr uint64_t kIdxMaxFileBytes = kIdxMaxBytes + kIdxMaxHeaderBytes + kIdxMaxBytes / 1024 + 4096;

std::string hex_byte(uint8_t b) {
  char text[5];
  std::snprintf(text, sizeof text, "0x%02x", b);
  return text;
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

bool is_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  const bool gz_name = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  const bool gz_magic = bytes.size() >= 2 && bytes[0] == kGzipMagic0 && bytes[1] == kGzipMagic1;
  return gz_name || gz_magic;
}

// Frees zlib's state on every exit path, errors included.
struct InflateStream {
  z_stream s{};
  bool initialised = false;
  ~InflateStream() {
    if (initialised) inflateEnd(&s);
  }
};

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

}  // namespace

Tensor parse_idx(const uint8_t* data, size_t size, const std::string& source) {
  KILN_CHECK(data != nullptr || size == 0, source, ": no data");
  KILN_CHECK(size >= 4, source, ": truncated IDX header: the file has ", size,
             " bytes, expected at least the 4-byte magic");
  KILN_CHECK(data[0] == 0 && data[1] == 0, source, ": not an IDX file: expected magic bytes 0x00 0x00, got ",
             hex_byte(data[0]), " ", hex_byte(data[1]));
  const uint8_t type = data[2];
  const int ndims = data[3];
  KILN_CHECK(type == kIdxTypeUnsignedByte, source, ": unsupported IDX element type ", hex_byte(type),
             " (only 0x08, unsigned byte, is supported)");
  KILN_CHECK(ndims >= 1 && ndims <= kIdxMaxDims, source, ": IDX file declares ", ndims,
             " dimensions, expected 1 to ", kIdxMaxDims);
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  KILN_CHECK(size >= header, source, ": truncated IDX header: ", ndims, " dimensions need ", header,
             " header bytes, the file has ", size);

  Shape shape;
  uint64_t payload = 1;
  bool over_cap = false;
  for (int d = 0; d < ndims; ++d) {
    const uint32_t n = read_be32(data + 4 + 4 * d);
    shape.push_back(n);
    // Each factor is below 2^32 and the running product is kept at or below the cap (2^30),
    // so the multiplication cannot overflow; once over the cap the product is not needed.
    if (!over_cap) {
      payload *= n;
      over_cap = payload > kIdxMaxBytes;
    }
  }
  KILN_CHECK(!over_cap, source, ": IDX dimensions ", shape_str(shape), " hold more than ", kIdxMaxBytes,
             " bytes, the limit");
  const uint64_t have = size - header;
  KILN_CHECK(have >= payload, source, ": truncated IDX data: dimensions ", shape_str(shape), " need ",
             payload, " bytes after the ", header, "-byte header, the file has ", have);
  KILN_CHECK(have == payload, source, ": ", have - payload, " trailing bytes after the ", payload,
             " bytes of IDX data for dimensions ", shape_str(shape));
  return Tensor::from_blob(data + header, shape, DType::UInt8);
}

std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, uint64_t max_bytes, const std::string& source) {
  KILN_CHECK(data != nullptr || size == 0, source, ": no data");
  // One byte past the cap is room enough to learn that the stream goes beyond it.
  const uint64_t limit = std::min<uint64_t>(max_bytes, std::numeric_limits<size_t>::max() - 1) + 1;
  InflateStream z;
  // 16 + MAX_WBITS: expect a gzip header and trailer (and check the CRC), not a bare zlib stream.
  KILN_CHECK(inflateInit2(&z.s, 16 + MAX_WBITS) == Z_OK, source,
             ": cannot start gzip decompression: ", z.s.msg ? z.s.msg : "zlib initialisation failed");
  z.initialised = true;

  std::vector<uint8_t> out;
  size_t filled = 0;
  const uint8_t* in = data;
  size_t in_left = size;
  // The gzip trailer's ISIZE (the uncompressed size mod 2^32) is a hint for one allocation up
  // front. It is untrusted, so it is only reserved (not touched) and bounded by the cap and by
  // deflate's best ratio (about 1032:1); the buffer still grows if the hint is wrong.
  if (size >= 4) {
    const uint64_t hint = uint64_t(data[size - 4]) | (uint64_t(data[size - 3]) << 8) |
                          (uint64_t(data[size - 2]) << 16) | (uint64_t(data[size - 1]) << 24);
    const uint64_t plausible = std::min<uint64_t>(uint64_t(size) * 1032 + 4096, limit);
    out.reserve(static_cast<size_t>(std::min(hint, plausible)));
  }

  while (true) {
    if (z.s.avail_in == 0 && in_left > 0) {
      const size_t chunk = std::min(in_left, kZlibChunk);
      z.s.next_in = const_cast<Bytef*>(in);
      z.s.avail_in = static_cast<uInt>(chunk);
      in += chunk;
      in_left -= chunk;
    }
    if (filled == out.size()) {
      KILN_CHECK(filled < limit, source, ": gzip data decompresses to more than ", max_bytes,
                 " bytes, the limit");
      const uint64_t grown = std::max<uint64_t>(uint64_t(out.size()) * 2, uint64_t(1) << 16);
      out.resize(static_cast<size_t>(std::min(grown, limit)));
    }
    z.s.next_out = out.data() + filled;
    z.s.avail_out = static_cast<uInt>(std::min(out.size() - filled, kZlibChunk));
    const uInt room = z.s.avail_out;
    const int ret = inflate(&z.s, Z_NO_FLUSH);
    filled += room - z.s.avail_out;

    if (ret == Z_STREAM_END) {
      const size_t rest = z.s.avail_in + in_left;
      if (rest == 0) break;
      // gzip allows several members back to back (`cat a.gz b.gz`); anything else after the
      // end of the stream means the file is not what it claims to be.
      const size_t at = size - rest;
      const bool member = rest >= 2 && data[at] == kGzipMagic0 && data[at + 1] == kGzipMagic1;
      KILN_CHECK(member, source, ": ", rest, " unexpected bytes after the end of the gzip stream");
      KILN_CHECK(inflateReset(&z.s) == Z_OK, source, ": cannot restart gzip decompression");
      continue;
    }
    KILN_CHECK(ret != Z_DATA_ERROR && ret != Z_NEED_DICT && ret != Z_STREAM_ERROR, source,
               ": corrupt gzip data (", z.s.msg ? z.s.msg : "invalid deflate stream", ")");
    KILN_CHECK(ret != Z_MEM_ERROR, source, ": out of memory while decompressing gzip data");
    // No progress with all input consumed and output room left: the stream stops early.
    const bool starved = z.s.avail_in == 0 && in_left == 0 && z.s.avail_out > 0;
    KILN_CHECK(!(starved && (ret == Z_BUF_ERROR || ret == Z_OK)), source,
               ": truncated gzip data: the stream ends after ", size, " compressed bytes (", filled,
               " decompressed) without its end marker");
  }
  // The stream may end exactly at the extra byte of room, one past the cap.
  KILN_CHECK(filled <= max_bytes, source, ": gzip data decompresses to more than ", max_bytes,
             " bytes, the limit");
  out.resize(filled);
  return out;
}

Tensor read_idx(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_bytes(path, kIdxMaxFileBytes);
  if (is_gzip(path, bytes))
    bytes = gunzip(bytes.data(), bytes.size(), kIdxMaxBytes + kIdxMaxHeaderBytes, path);
  return parse_idx(bytes.data(), bytes.size(), path);
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         std::vector<std::string> class_names) {
  if (class_names.empty())
    for (int c = 0; c < 10; ++c) class_names.push_back(std::to_string(c));
  const Tensor images = read_idx(images_path);
  KILN_CHECK(images.dim() == 3, images_path, ": expected IDX images [N, H, W], got shape ",
             shape_str(images.shape()));
  KILN_CHECK(images.numel() > 0, images_path, ": no image data (shape ", shape_str(images.shape()), ")");
  const Tensor labels = read_idx(labels_path);
  KILN_CHECK(labels.dim() == 1, labels_path, ": expected IDX labels [N], got shape ",
             shape_str(labels.shape()));
  const int64_t n = images.size(0);
  KILN_CHECK(labels.size(0) == n, labels_path, ": ", labels.size(0), " labels, but ", images_path, " holds ",
             n, " images");

  const uint8_t* raw = labels.data<uint8_t>();
  const int64_t classes = static_cast<int64_t>(class_names.size());
  std::vector<int64_t> targets(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    KILN_CHECK(raw[i] < classes, labels_path, ": label ", int(raw[i]), " at index ", i,
               " is not below the number of classes (", classes, ")");
    targets[static_cast<size_t>(i)] = raw[i];
  }
  Dataset d;
  d.inputs = images.view({n, 1, images.size(1), images.size(2)});
  d.targets = Tensor::from_vector(targets, {n});
  d.class_names = std::move(class_names);
  return d;
}

Dataset load_mnist(const std::string& dir, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string names[2] = {prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"};
  std::string found[2], looked_for, missing;
  for (int i = 0; i < 2; ++i) {
    const std::string raw = (std::filesystem::path(dir) / names[i]).string();
    for (const std::string& candidate : {raw, raw + ".gz"}) {
      if (found[i].empty() && is_regular_file(candidate)) found[i] = candidate;
    }
    looked_for += (looked_for.empty() ? "" : ", ") + raw + "[.gz]";
    if (found[i].empty()) missing += (missing.empty() ? "" : " and ") + names[i];
  }
  KILN_CHECK(missing.empty(), "MNIST-style ", train ? "training" : "test", " split not found (missing ",
             missing, "): looked for ", looked_for);
  return load_idx_dataset(found[0], found[1]);
}

Dataset load_fashion_mnist(const std::string& dir, bool train) {
  Dataset d = load_mnist(dir, train);
  const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  // Same label range as MNIST (0..9, checked by load_mnist), so only the names change.
  d.class_names = names;
  return d;
}

}  // namespace kiln
