// Tiny, easily learnable image datasets written in the real file formats, so the trainers
// can be tested end to end in seconds: class k of 10 is a bright horizontal bar at a
// class-specific height over low noise. Pixel values are deterministic in the seed.
#pragma once

#include <cstdint>
#include <string>

#include "trainers/experiments/common.h"

namespace kiln::testing {

// train-/t10k-{images-idx3,labels-idx1}-ubyte (raw IDX, 28x28, labels cycle 0..9), for
// --dataset mnist or fashion-mnist --data-dir dir.
void write_synthetic_mnist(const std::string& dir, int64_t n_train, int64_t n_test, uint64_t seed = 1);

// data_batch_1..5.bin (per_batch records each) and test_batch.bin, for --dataset cifar10.
void write_synthetic_cifar10(const std::string& dir, int64_t per_batch, int64_t n_test, uint64_t seed = 1);

// The flags a command test shares when it only needs a command to run through on the CPU:
// the synthetic MNIST in data_dir, one epoch, 32 training and 20 test images, quiet.
void tiny_mnist_run(CommonOptions& c, const std::string& data_dir, const std::string& out, uint64_t seed);

}  // namespace kiln::testing
