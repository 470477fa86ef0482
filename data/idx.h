// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte
// magic (0, 0, type, ndims), ndims big-endian uint32 sizes, then the data. kiln reads the
// unsigned-byte type (0x08), raw or gzip-compressed (.gz, through zlib, with the
// decompressed size capped), and validates magic, dimensions and sizes.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "data/dataset.h"

namespace kiln {

// Largest decompressed IDX payload accepted (MNIST's training images are 47 MB).
inline constexpr uint64_t kIdxMaxBytes = uint64_t(1) << 30;

// Decodes an IDX image (raw bytes, already decompressed); `source` names it in errors.
// Returns a uint8 tensor with the file's dimensions ([N] labels, [N, H, W] images).
Tensor parse_idx(const uint8_t* data, size_t size, const std::string& source);

// Reads an IDX file; a path ending in ".gz" (or starting with the gzip magic) is inflated.
Tensor read_idx(const std::string& path);

// MNIST-style pair: images [N, H, W] and labels [N] -> Dataset with inputs uint8 [N, 1, H, W],
// targets int64 [N], class names "0".."9" unless given. Errors if the counts differ or a
// label is >= the number of classes.
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         std::vector<std::string> class_names = {});

// The standard file names in `dir` (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or .gz).
Dataset load_mnist(const std::string& dir, bool train);
// Same file names; class names are Fashion-MNIST's (T-shirt/top, Trouser, ...).
Dataset load_fashion_mnist(const std::string& dir, bool train);

}  // namespace kiln
