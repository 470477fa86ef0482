// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte
// magic (0, 0, type, ndims), ndims big-endian uint32 sizes, then the data. kiln reads the
// unsigned-byte type (0x08), raw or gzip-compressed (.gz, through zlib, with the
// decompressed size capped), and validates magic, dimensions and sizes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/dataset.h"

namespace kiln {

// Largest IDX payload accepted, after decompression (MNIST's training images are 47 MB).
inline constexpr uint64_t kIdxMaxBytes = uint64_t(1) << 30;
// Largest IDX header: the 4-byte magic and four uint32 sizes.
inline constexpr uint64_t kIdxMaxHeaderBytes = 4 + 4 * 4;

// Decodes an IDX image (raw bytes, already decompressed); `source` names it in errors.
// Returns a uint8 tensor with the file's dimensions ([N] labels, [N, H, W] images).
// Rejects: a bad magic, an element type other than 0x08, 0 or more than 4 dimensions, a
// payload over kIdxMaxBytes, and any payload whose size is not exactly the product of the
// dimensions (truncated files and trailing bytes alike).
Tensor parse_idx(const uint8_t* data, size_t size, const std::string& source);

// Inflates a gzip stream (one or more concatenated members) into memory. Fails, naming
// `source`, on corrupt or truncated data, and as soon as the output would exceed
// `max_bytes`, so a small file that expands enormously cannot exhaust memory.
std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, uint64_t max_bytes, const std::string& source);

// Reads an IDX file; a path ending in ".gz" (or starting with the gzip magic) is inflated,
// up to kIdxMaxBytes + kIdxMaxHeaderBytes.
Tensor read_idx(const std::string& path);

// MNIST-style pair: images [N, H, W] and labels [N] -> Dataset with inputs uint8 [N, 1, H, W],
// targets int64 [N], class names "0".."9" unless given. Errors if either file has the wrong
// rank, holds no samples, the counts differ, or a label is >= the number of classes.
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         std::vector<std::string> class_names = {});

// The standard file names in `dir` (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or .gz; the raw file wins when
// both exist). A missing file gives one error listing every name looked for.
Dataset load_mnist(const std::string& dir, bool train);
// Same file names; class names are Fashion-MNIST's (T-shirt/top, Trouser, Pullover, Dress,
// Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).
Dataset load_fashion_mnist(const std::string& dir, bool train);

}  // namespace kiln
