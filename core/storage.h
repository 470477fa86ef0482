// A Storage owns one allocation on one device. Tensors are views (shape, strides, offset)
// onto a shared Storage, so reshape/transpose/narrow cost no copy.
#pragma once

#include <cstddef>
#include <memory>

#include "core/device.h"

namespace kiln {

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
};

}  // namespace kiln
