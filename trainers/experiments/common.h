// Pieces the image-classification experiments share: loading and splitting the data,
// uploading it once to the device, the tutorial's loaders (Normalize(0.5, 0.5), batch 32),
// the ResNet-18, test evaluation with a confusion-matrix figure, and loss-curve figures.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/loader.h"
#include "layers/models.h"
#include "trainers/datasets.h"
#include "trainers/experiment.h"
#include "trainers/fit.h"
#include "trainers/run_context.h"

namespace kiln {

struct ClassificationData {
  std::string name;           // dataset name, e.g. "cifar10"
  std::string description;    // for reports: name, sizes, substitution, --limit
  std::vector<std::string> class_names;
  int64_t channels = 0;
  // On the run's device; stable addresses (loaders refer to them).
  std::unique_ptr<Dataset> train, val, test;
};

// Loads `preferred` (or its stand-in, see datasets.h), keeps the first --limit training
// samples, and holds out `val_fraction` of them (random, seeded) for validation.
ClassificationData load_classification(const CommonOptions& o, const RunContext& ctx, const std::string& preferred,
                                       double val_fraction);

// The tutorial's transform: ToTensor + Normalize(0.5, ..., 0.5).
ImageTransform tutorial_normalize(int64_t channels);

// ResNet-18 as the tutorial builds it, for this data, on the run's device.
std::unique_ptr<ResNet18> make_resnet(const ClassificationData& data, const RunContext& ctx, bool batchnorm = true);
std::string resnet_id(const ClassificationData& data, bool batchnorm);

struct TestReport {
  double accuracy = 0;
  std::vector<double> per_class;
  std::string confusion_png;  // file name inside the output directory
};

// Accuracy on the test set, per-class accuracy, and `<prefix>confusion_matrix.png`.
TestReport evaluate_test(Module& model, DataLoader& test, const ClassificationData& data, RunContext& ctx,
                         const std::string& prefix, const std::string& title);

// Train (and validation, when present) loss per epoch -> PNG; marker at `marker_epoch` > 0.
void plot_loss_curves(const std::string& path, const std::string& title, const std::vector<EpochRecord>& history,
                      int64_t marker_epoch = 0, const std::string& marker_label = "");

// "12.34%"
std::string percent(double fraction);

}  // namespace kiln
