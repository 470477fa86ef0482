// CIFAR-10's binary version (https://www.cs.toronto.edu/~kriz/cifar.html): files of
// 3073-byte records, one label byte (0..9) then 1024 red, 1024 green and 1024 blue bytes of a
// 32x32 image in row-major order. Training: data_batch_1.bin .. data_batch_5.bin (10,000
// records each); test: test_batch.bin.
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace kiln {

inline constexpr int64_t kCifarRecordBytes = 3073;

// Decodes one batch file's bytes: the size must be a multiple of 3073 and every label < 10.
Dataset parse_cifar10_batch(const uint8_t* data, size_t size, const std::string& source);
Dataset read_cifar10_batch(const std::string& path);

// The training (five batches, 50,000 images) or test split in `dir`: inputs uint8
// [N, 3, 32, 32], targets int64 [N], class names airplane .. truck.
Dataset load_cifar10(const std::string& dir, bool train);

}  // namespace kiln
