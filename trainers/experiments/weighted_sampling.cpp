// `kiln weighted-sampling` (see weighted_sampling.h): what a WeightedRandomSampler does to
// the batches of an imbalanced image folder, next to a plain shuffled loader, printed like the
// tutorial and then measured over many epochs.
#include "trainers/experiments/weighted_sampling.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/generator.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/loader.h"
#include "samplers/sampler.h"
#include "trainers/csv_log.h"
#include "trainers/experiments/common.h"
#include "trainers/experiments/datasets.h"
#include "trainers/plot/plots.h"

namespace kiln {

namespace {

// The tutorial's folder: 4 lions and 14 tigers. Sorted folder names make lion class 0, which
// is what the tutorial's printed weights (4 x 0.25, then 14 x 0.0714) show. Two Fashion-MNIST
// classes stand in for the photos; only the labels matter here.
struct StandIn {
  const char* folder;
  int64_t fashion_class;
  int64_t count;
};
constexpr StandIn kTutorialClasses[] = {{"lion", 1, 4}, {"tiger", 8, 14}};  // Trouser, Bag

std::string write_tutorial_folder(const std::string& root) {
  std::error_code ec;
  KILN_CHECK(std::filesystem::is_directory(kDebianFashionMnistDir, ec),
             "no --data-dir given and Fashion-MNIST is not at ", kDebianFashionMnistDir,
             " to build the example folder from (apt-get install dataset-fashion-mnist, or pass --data-dir "
             "root/<class>/<image>)");
  const Dataset fm = load_fashion_mnist(kDebianFashionMnistDir, false);
  const Tensor pixels = fm.inputs.contiguous();
  const auto labels = fm.targets.to_vector<int64_t>();
  const int h = static_cast<int>(pixels.size(2)), w = static_cast<int>(pixels.size(3));
  const size_t plane = static_cast<size_t>(h) * w;
  // Rewritten on every run, so the folder holds exactly the tutorial's 4 + 14 images.
  std::filesystem::remove_all(root, ec);
  KILN_CHECK(!ec, "cannot clear ", root, ": ", ec.message());
  std::string description;
  for (const StandIn& c : kTutorialClasses) {
    const std::string dir = root + "/" + c.folder;
    std::filesystem::create_directories(dir, ec);
    KILN_CHECK(!ec, "cannot create ", dir, ": ", ec.message());
    int64_t written = 0;
    std::vector<uint8_t> rgb(3 * plane);
    for (size_t i = 0; i < labels.size() && written < c.count; ++i) {
      if (labels[i] != c.fashion_class) continue;
      const uint8_t* grey = pixels.data<uint8_t>() + i * plane;
      for (int ch = 0; ch < 3; ++ch) std::copy(grey, grey + plane, rgb.begin() + ch * plane);  // grey -> RGB
      char name[32];
      std::snprintf(name, sizeof name, "/%03lld.png", static_cast<long long>(written));
      write_png_rgb(dir + name, rgb.data(), h, w);
      ++written;
    }
    KILN_CHECK(written == c.count, "Fashion-MNIST has only ", written, " test images of class ",
               c.fashion_class);
    description += std::string(description.empty() ? "" : ", ") + std::to_string(c.count) +
                   " Fashion-MNIST '" + fm.class_names.at(c.fashion_class) + "' images as '" + c.folder + "'";
  }
  return description;
}

// The tutorial's make_weights: 1/count listed class by class, [w0] * count0 + [w1] * count1 +
// ..., whatever order the samples are in.
std::vector<double> tutorial_make_weights(const std::vector<int64_t>& labels, int64_t num_classes) {
  std::vector<double> out;
  for (int64_t cls = 0; cls < num_classes; ++cls) {
    int64_t count = 0;
    for (int64_t l : labels) count += l == cls;
    out.insert(out.end(), static_cast<size_t>(count), 1.0 / static_cast<double>(count));
  }
  return out;
}

// print(torch.DoubleTensor(weights)): 4 decimals, 80-column lines, summarised past 1000
// elements (first and last 3), and the dtype suffix on its own line when it does not fit.
std::string torch_double_tensor(const std::vector<double>& v) {
  std::vector<std::string> items;
  auto item = [&](size_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", v[i]);
    return std::string(buf);
  };
  if (v.size() > 1000) {
    for (size_t i = 0; i < 3; ++i) items.push_back(item(i));
    items.push_back("...");
    for (size_t i = v.size() - 3; i < v.size(); ++i) items.push_back(item(i));
  } else {
    for (size_t i = 0; i < v.size(); ++i) items.push_back(item(i));
  }
  size_t width = 0;
  for (const auto& s : items) width = std::max(width, s.size());
  const size_t indent = 8;  // "tensor(["
  const size_t per_line = std::max<size_t>(1, (80 - indent) / (width + 2));
  std::string out = "tensor([", line;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i % per_line == 0 ? ",\n" + std::string(indent, ' ') : ", ";
    out += items[i];
  }
  out += "]";
  // torch's _add_suffixes counts the last line two characters longer than it is.
  const size_t last_line = out.size() - (out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1) + 2;
  const std::string suffix = "dtype=torch.float64";
  out += last_line + suffix.size() + 2 > 80 ? ",\n       " + suffix : ", " + suffix;
  return out + ")";
}

std::string torch_long_tensor(const std::vector<int64_t>& v) {
  std::string out = "tensor([";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "])";
}

void print_batches(const char* title, DataLoader& loader, int64_t epochs) {
  std::printf("%s\n", title);
  for (int64_t e = 0; e < epochs; ++e) {
    loader.start_epoch();
    Batch b;
    while (loader.next(b)) std::printf("%s\n", torch_long_tensor(b.targets.to_vector<int64_t>()).c_str());
  }
}

// Class counts over many epochs, from the sampler's epoch orders: exactly the indices the
// loader would gather (DataLoader::start_epoch asks the same sampler with the same generator),
// without gathering pixels nobody looks at.
std::vector<int64_t> tally(Sampler& sampler, const std::vector<int64_t>& labels, int64_t num_classes,
                           int64_t epochs) {
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (int64_t e = 0; e < epochs; ++e) {
    check_interrupted();
    for (int64_t i : sampler.epoch_indices(default_generator())) ++counts[static_cast<size_t>(labels[i])];
  }
  return counts;
}

std::string shares(const std::vector<int64_t>& counts) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  std::string out;
  for (int64_t c : counts) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * double(c) / double(total));
    out += (out.empty() ? "" : " / ") + std::string(buf);
  }
  return out;
}

}  // namespace

WeightedSamplingOptions weighted_sampling_defaults() {
  WeightedSamplingOptions o;
  o.common.epochs = 3;
  o.common.batch_size = 6;
  return o;
}

ExperimentResult run_weighted_sampling(const WeightedSamplingOptions& o) {
  KILN_CHECK(o.image_size >= 1 && o.image_size <= kMaxImageDimension, "--image-size must be in [1, ",
             kMaxImageDimension, "], got ", o.image_size);
  KILN_CHECK(o.count_epochs >= 1, "--count-epochs must be >= 1, got ", o.count_epochs);
  KILN_CHECK(o.common.epochs >= 0 && o.common.batch_size >= 1, "--epochs must be >= 0 and --batch-size >= 1");
  const auto t0 = std::chrono::steady_clock::now();
  RunContext ctx = make_run_context(o.common, "weighted-sampling");
  // Nothing here trains: under mpirun rank 0 does it all and the other ranks have no share.
  if (!ctx.writes_files()) return {};

  std::string root = o.common.data_dir, origin;
  if (root.empty()) {
    root = ctx.path("class_folder");
    origin = write_tutorial_folder(root);
  }
  const int size = static_cast<int>(o.image_size);
  const Dataset host = load_image_folder(root, size, size);
  const Dataset data = host.to(ctx.device);
  const auto labels = host.targets.to_vector<int64_t>();
  const int64_t n = host.size(), k = host.num_classes();
  std::vector<int64_t> images(static_cast<size_t>(k), 0);
  for (int64_t l : labels) ++images[static_cast<size_t>(l)];

  std::string description = root + ": ";
  for (int64_t c = 0; c < k; ++c)
    description += (c ? ", " : "") + host.class_names[c] + " " + std::to_string(images[c]);
  description += " images, resized to " + std::to_string(size) + "x" + std::to_string(size);
  if (!origin.empty()) description += " (" + origin + ")";
  std::printf("weighted-sampling: %s on %s, %s protocol\n", description.c_str(), ctx.device.str().c_str(),
              ctx.tutorial_protocol ? "the tutorial's" : "kiln's default");

  const std::vector<double> balanced = class_balanced_weights(host.targets, k);
  const std::vector<double> weights = ctx.tutorial_protocol ? tutorial_make_weights(labels, k) : balanced;
  std::printf("%s\n%s\n",
              ctx.tutorial_protocol ? "weights (the tutorial's make_weights: 1/count listed class by class):"
                                    : "weights (1/count of each sample's own class):",
              torch_double_tensor(weights).c_str());

  DataLoader weighted(data, o.common.batch_size, std::make_shared<WeightedRandomSampler>(weights, n, true));
  DataLoader shuffled(data, o.common.batch_size, std::make_shared<RandomSampler>(n));
  if (o.common.epochs > 0) {
    print_batches("batches of the weighted loader (WeightedRandomSampler, replacement=True):", weighted,
                  o.common.epochs);
    print_batches("batches of the shuffled loader (shuffle=True):", shuffled, o.common.epochs);
  }
  const std::vector<int64_t> w_counts = tally(weighted.sampler(), labels, k, o.count_epochs);
  const std::vector<int64_t> s_counts = tally(shuffled.sampler(), labels, k, o.count_epochs);

  const double w_total = double(n) * double(o.count_epochs);
  CsvLog csv(ctx.path("class_counts.csv"), {"class", "images", "weighted_count", "shuffled_count",
                                            "weighted_fraction", "shuffled_fraction"});
  BarSeries w_bars{"weighted (WeightedRandomSampler)", {}}, s_bars{"shuffled (RandomSampler)", {}};
  std::vector<std::string> categories;
  for (int64_t c = 0; c < k; ++c) {
    csv.append({double(c), double(images[c]), double(w_counts[c]), double(s_counts[c]), w_counts[c] / w_total,
                s_counts[c] / w_total});
    w_bars.values.push_back(100.0 * w_counts[c] / w_total);
    s_bars.values.push_back(100.0 * s_counts[c] / w_total);
    categories.push_back(host.class_names[c] + " (" + std::to_string(images[c]) + " images)");
  }
  write_bar_chart_png(ctx.path("class_counts.png"),
                      "Class share of the drawn samples over " + std::to_string(o.count_epochs) + " epochs",
                      "% of drawn samples", categories, {w_bars, s_bars});

  std::string class_list;
  for (int64_t c = 0; c < k; ++c) class_list += (c ? " / " : "") + host.class_names[c];
  ExperimentResult r;
  r.experiment = "Weighted random sampling";
  r.tutorial_figure = "weighted batches roughly balanced vs mostly the majority class";
  r.kiln_figure = "weighted " + shares(w_counts) + ", shuffled " + shares(s_counts) + " (" + class_list +
                  ", " + std::to_string(o.count_epochs) + " epochs)";
  r.dataset = description;
  r.device = ctx.device.str();
  r.plots = {"class_counts.png"};
  if (ctx.tutorial_protocol) {
    r.notes =
        std::string("--protocol seed (the tutorial's make_weights, weights listed class by class; ") +
        (weights == balanced ? "identical to 1/count[label[i]] here because ImageFolder lists the samples "
                               "class by class"
                             : "NOT equal to 1/count[label[i]]: the samples are not sorted by class") +
        ")";
  } else {
    r.notes = "default protocol (weight[i] = 1/count[label[i]], right for any sample order)";
  }
  r.notes +=
      "; WeightedRandomSampler(weights, num_samples = " + std::to_string(n) +
      ", replacement = True) vs shuffle = True, batch " + std::to_string(o.common.batch_size) +
      "; the shuffled loader visits every image once per epoch, so its shares are the folder's exactly; "
      "counts over " +
      std::to_string(o.count_epochs) + " epochs in class_counts.csv";
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s\n", r.notes.c_str());
  print_headline(r);
  return r;
}

}  // namespace kiln
