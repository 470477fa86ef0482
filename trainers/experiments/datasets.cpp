// Dataset resolution (see datasets.h).
#include "trainers/experiments/datasets.h"

#include <filesystem>

#include "core/error.h"
#include "data/cifar10.h"
#include "data/idx.h"

namespace kiln {

namespace {
namespace fs = std::filesystem;

bool has_cifar(const std::string& dir) {
  return !dir.empty() && fs::exists(fs::path(dir) / "data_batch_1.bin") &&
         fs::exists(fs::path(dir) / "test_batch.bin");
}

bool has_idx(const std::string& dir) {
  if (dir.empty()) return false;
  for (const char* name : {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"})
    if (fs::exists(fs::path(dir) / name)) return true;
  return false;
}

ImageData limited(ImageData d, int64_t limit) {
  if (limit > 0 && limit < d.train.size()) d.train = d.train.head(limit);
  return d;
}
}  // namespace

const std::vector<std::string>& image_dataset_names() {
  static const std::vector<std::string> names = {"auto", "cifar10", "mnist", "fashion-mnist"};
  return names;
}

ImageData load_image_data(const std::string& dataset, const std::string& data_dir,
                          const std::string& preferred, int64_t limit) {
  KILN_CHECK(limit >= 0, "--limit must be >= 0, got ", limit);
  std::string which = dataset;
  std::string substitution;
  if (which == "auto") {
    if (preferred == "cifar10" && has_cifar(data_dir))
      which = "cifar10";
    else if (preferred == "mnist" && has_idx(data_dir))
      which = "mnist";
    else {
      which = "fashion-mnist";
      substitution = "Fashion-MNIST stands in for " +
                     std::string(preferred == "cifar10" ? "CIFAR-10" : "MNIST") + " (pass --dataset " +
                     preferred + " --data-dir DIR to use it)";
    }
  }
  ImageData d;
  d.name = which;
  d.substitution = substitution;
  if (which == "cifar10") {
    KILN_CHECK(!data_dir.empty(),
               "--dataset cifar10 needs --data-dir pointing at the CIFAR-10 binary batches ",
               "(data_batch_1.bin .. data_batch_5.bin, test_batch.bin from cifar-10-binary.tar.gz)");
    d.train = load_cifar10(data_dir, true);
    d.test = load_cifar10(data_dir, false);
  } else if (which == "mnist") {
    KILN_CHECK(!data_dir.empty(), "--dataset mnist needs --data-dir pointing at the MNIST IDX files ",
               "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...)");
    d.train = load_mnist(data_dir, true);
    d.test = load_mnist(data_dir, false);
  } else if (which == "fashion-mnist") {
    const std::string dir = data_dir.empty() ? kDebianFashionMnistDir : data_dir;
    KILN_CHECK(has_idx(dir), "Fashion-MNIST not found in '", dir,
               "': install Debian's dataset-fashion-mnist package or pass --data-dir");
    d.train = load_fashion_mnist(dir, true);
    d.test = load_fashion_mnist(dir, false);
  } else {
    KILN_FAIL("unknown --dataset '", dataset, "': expected auto, cifar10, mnist or fashion-mnist");
  }
  return limited(std::move(d), limit);
}

}  // namespace kiln
