// The split and encodings of `kiln pseudo-label` (see pseudo_label_data.h).
//
// What the tutorial's code does to its data, read line by line, and so what --protocol seed
// reproduces:
//  1. Indexing. balanced_subset(data, labels, ...) takes idx = where(labels == c), draws
//     shuffled_idx = a permutation of range(len(idx)), and then uses data[shuffled_idx[:n]]:
//     positions within idx used as positions in the whole dataset. Each class's "200" are
//     random images among the first len(idx) of the file (any label), the classes' picks
//     overlap, and the "58,000 unlabelled" are the same few thousand images repeated, the
//     labelled ones among them. The second call (train / validation from the 2,000) repeats
//     the mistake one level down: both halves come from the first ~230 of the 2,000, so the
//     validation images are largely training images.
//  2. Input scaling. balanced_subset starts from torch.tensor([], dtype=torch.float) and
//     torch.cat promotes the uint8 images to float32 holding 0..255. Then
//       - training images pass through ToPILImage, which for a float tensor computes
//         pic.mul(255).byte(): 255 * p does not fit in a byte and wraps modulo 256 (eager
//         PyTorch casts float to uint8 through int64), so a pixel p becomes (256 - p) mod 256
//         before ToTensor divides by 255: stroke centres (255) turn almost black (1/255) and
//         faint edges bright;
//       - the validation set (MyDataset without a transform) and the unlabelled set (same)
//         reach the model as raw 0..255 floats, 255 times the test scale (so do the
//         threshold method's pseudo-labelled images, kept from the unlabelled set);
//       - the test set uses ToTensor on the original uint8 images: p / 255.
//     So the model is trained, selected and tested on three different encodings.
// The default protocol uses kiln's class-balanced split and p / 255 everywhere.
#include "trainers/experiments/pseudo_label_data.h"

#include <algorithm>
#include <cstdio>

#include "core/generator.h"
#include "trainers/experiments/datasets.h"

namespace kiln {

Split tutorial_balanced_subset(const std::vector<int64_t>& labels, int64_t num_classes, int64_t per_class,
                               const std::vector<std::vector<int64_t>>& permutations) {
  KILN_CHECK(num_classes > 0, "tutorial_balanced_subset: num_classes must be > 0, got ", num_classes);
  KILN_CHECK(per_class >= 0, "tutorial_balanced_subset: per_class must be >= 0, got ", per_class);
  KILN_CHECK(static_cast<int64_t>(permutations.size()) == num_classes,
             "tutorial_balanced_subset: ", permutations.size(), " permutations for ", num_classes,
             " classes");
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    KILN_CHECK(labels[i] >= 0 && labels[i] < num_classes, "tutorial_balanced_subset: label ", labels[i],
               " at index ", i, " is outside [0, ", num_classes, ")");
    ++counts[static_cast<size_t>(labels[i])];
  }
  Split out;
  for (int64_t c = 0; c < num_classes; ++c) {
    const std::vector<int64_t>& p = permutations[static_cast<size_t>(c)];
    const int64_t n = counts[static_cast<size_t>(c)];
    KILN_CHECK(static_cast<int64_t>(p.size()) == n, "tutorial_balanced_subset: class ", c, " has ", n,
               " samples but its permutation has ", p.size(), " entries");
    std::vector<char> seen(static_cast<size_t>(n), 0);
    for (int64_t v : p) {
      KILN_CHECK(v >= 0 && v < n && !seen[static_cast<size_t>(v)], "tutorial_balanced_subset: class ", c,
                 "'s permutation is not a permutation of 0..", n - 1);
      seen[static_cast<size_t>(v)] = 1;
    }
    // shuffled_idx[:num_data_per_class] (shorter when the class is smaller, as Python slices).
    const auto cut = p.begin() + std::min(per_class, n);
    out.first.insert(out.first.end(), p.begin(), cut);
    out.second.insert(out.second.end(), cut, p.end());
  }
  return out;
}

Split tutorial_balanced_subset(const std::vector<int64_t>& labels, int64_t num_classes, int64_t per_class,
                               Generator& gen) {
  KILN_CHECK(num_classes > 0, "tutorial_balanced_subset: num_classes must be > 0, got ", num_classes);
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (int64_t l : labels)
    if (l >= 0 && l < num_classes) ++counts[static_cast<size_t>(l)];  // the pure overload reports bad labels
  std::vector<std::vector<int64_t>> perms;
  for (int64_t c = 0; c < num_classes; ++c)
    perms.push_back(RandomSampler(counts[static_cast<size_t>(c)]).epoch_indices(gen));
  return tutorial_balanced_subset(labels, num_classes, per_class, perms);
}

namespace {

std::string itos(int64_t v) { return std::to_string(v); }

std::vector<char> marks(const std::vector<int64_t>& idx, int64_t n) {
  std::vector<char> m(static_cast<size_t>(n), 0);
  for (int64_t i : idx) m[static_cast<size_t>(i)] = 1;
  return m;
}
int64_t ones(const std::vector<char>& m) { return std::count(m.begin(), m.end(), char(1)); }
int64_t both(const std::vector<char>& a, const std::vector<char>& b) {
  int64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += a[i] && b[i];
  return n;
}

// Dataset indices of each pool.
struct SplitIndices {
  std::vector<int64_t> labelled, train, val, unlabelled;
};

// Labelled pool and unlabelled rest, then the pool's train / validation halves, with the
// tutorial's indexing or kiln's class-balanced one. The unlabelled indices come in file order
// (the loader shuffles anyway), so --unlabeled-limit keeps a natural class mix.
SplitIndices make_split(const std::vector<int64_t>& labels, int64_t classes, int64_t per_class,
                        int64_t train_per_class, bool tutorial_indexing, Generator& gen) {
  Split pool, parts;
  std::vector<int64_t> pool_labels;
  if (tutorial_indexing) {
    pool = tutorial_balanced_subset(labels, classes, per_class, gen);
    for (int64_t i : pool.first) pool_labels.push_back(labels[static_cast<size_t>(i)]);
    parts = tutorial_balanced_subset(pool_labels, classes, train_per_class, gen);
  } else {
    pool = balanced_subset(Tensor::from_vector(labels, {static_cast<int64_t>(labels.size())}), classes,
                           per_class, gen);
    for (int64_t i : pool.first) pool_labels.push_back(labels[static_cast<size_t>(i)]);
    parts = balanced_subset(Tensor::from_vector(pool_labels, {static_cast<int64_t>(pool_labels.size())}),
                            classes, train_per_class, gen);
  }
  SplitIndices s;
  s.labelled = pool.first;
  for (int64_t p : parts.first) s.train.push_back(pool.first[static_cast<size_t>(p)]);
  for (int64_t p : parts.second) s.val.push_back(pool.first[static_cast<size_t>(p)]);
  s.unlabelled = pool.second;
  std::stable_sort(s.unlabelled.begin(), s.unlabelled.end());
  return s;
}

SplitFacts measure(const SplitIndices& s, const std::vector<int64_t>& labels, int64_t classes) {
  const std::vector<int64_t>&labelled = s.labelled, &train = s.train, &val = s.val,
        &unlabelled = s.unlabelled;
  const auto n = static_cast<int64_t>(labels.size());
  SplitFacts f;
  const auto ml = marks(labelled, n), mt = marks(train, n), mv = marks(val, n), mu = marks(unlabelled, n);
  f.labelled = static_cast<int64_t>(labelled.size());
  f.labelled_distinct = ones(ml);
  f.span = labelled.empty() ? 0 : *std::max_element(labelled.begin(), labelled.end()) + 1;
  f.train = static_cast<int64_t>(train.size());
  f.train_distinct = ones(mt);
  f.val = static_cast<int64_t>(val.size());
  f.val_distinct = ones(mv);
  f.train_val_shared = both(mt, mv);
  f.unlabelled = static_cast<int64_t>(unlabelled.size());
  f.unlabelled_distinct = ones(mu);
  f.labelled_in_unlabelled = both(ml, mu);
  f.class_counts.assign(static_cast<size_t>(classes), 0);
  for (int64_t i : labelled) ++f.class_counts[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  return f;
}

std::string describe(const SplitFacts& f, bool tutorial_indexing) {
  std::string s = tutorial_indexing ? "the tutorial's balanced_subset indexing: " : "class-balanced split: ";
  s += "the " + itos(f.labelled) + " labelled entries are " + itos(f.labelled_distinct) +
       " distinct images (" + itos(f.labelled - f.labelled_distinct) + " repeats), all among the first " +
       itos(f.span) + " training images, labels per class ";
  for (size_t c = 0; c < f.class_counts.size(); ++c) s += (c ? "/" : "") + itos(f.class_counts[c]);
  s += "; train " + itos(f.train) + " entries = " + itos(f.train_distinct) + " distinct, validation " +
       itos(f.val) + " entries = " + itos(f.val_distinct) + " distinct, " + itos(f.train_val_shared) +
       " images in both; the " + itos(f.unlabelled) + " unlabelled entries are " +
       itos(f.unlabelled_distinct) + " distinct images, " + itos(f.labelled_in_unlabelled) +
       " of them also labelled";
  return s;
}

// ToPILImage on the tutorial's float32 0..255 training tensors: pic.mul(255).byte(), whose
// float-to-uint8 cast wraps modulo 256; ToTensor's later division by 255 is the loader's.
void wrap_like_to_pil_image(Dataset& d) {
  Tensor x = d.inputs.contiguous().clone();
  uint8_t* p = x.data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = static_cast<uint8_t>((255u * p[i]) & 0xFFu);
  d.inputs = x;
}

}  // namespace

ImageTransform unit_scale() { return {}; }
ImageTransform raw_scale() {
  ImageTransform t;
  t.mean = {0.0f};
  t.std = {1.0f / 255.0f};
  return t;
}

PseudoLabelData load_pseudo_label_data(const PseudoLabelOptions& o, const RunContext& ctx) {
  ImageData img = load_image_data(o.common.dataset, o.common.data_dir, "mnist", o.common.limit);
  const Tensor& x = img.train.inputs;
  KILN_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
             "pseudo-label: the tutorial's Net takes 28x28 grey images; ", img.name, " has ",
             shape_str(x.shape()));
  const int64_t classes = img.train.num_classes();
  const int64_t per_class = o.labeled / classes, train_per_class = (o.labeled / 2) / classes;
  KILN_CHECK(train_per_class >= 1 && per_class > train_per_class, "--labeled ", o.labeled,
             " is too small for ", classes,
             " classes (each class needs at least one training and one validation image)");
  const std::vector<int64_t> labels = img.train.targets.to_vector<int64_t>();

  // The splits have their own generator, so they do not depend on anything drawn before them.
  Generator gen(o.common.seed ^ 0x95e0d0ab1ULL);
  // The tutorial's indexing is always drawn (first), so the default protocol can report what
  // it would have given on this data; --protocol seed trains on it.
  const SplitIndices tutorial = make_split(labels, classes, per_class, train_per_class, true, gen);
  const SplitIndices kiln =
      ctx.tutorial_protocol ? tutorial : make_split(labels, classes, per_class, train_per_class, false, gen);

  PseudoLabelData d;
  d.tutorial_facts = measure(tutorial, labels, classes);
  d.facts = ctx.tutorial_protocol ? d.tutorial_facts : measure(kiln, labels, classes);
  d.split_summary = describe(d.facts, ctx.tutorial_protocol);
  std::vector<int64_t> unl = kiln.unlabelled;
  if (o.unlabeled_limit > 0 && o.unlabeled_limit < static_cast<int64_t>(unl.size()))
    unl.resize(o.unlabeled_limit);
  KILN_CHECK(!unl.empty(), "pseudo-label: no unlabelled images are left after taking ", o.labeled,
             " labelled ones");

  Dataset train = img.train.subset(kiln.train);
  if (ctx.tutorial_protocol) wrap_like_to_pil_image(train);
  d.cls.name = img.name;
  d.cls.class_names = img.train.class_names;
  d.cls.channels = 1;
  d.cls.train = std::make_unique<Dataset>(train.to(ctx.device));
  d.cls.val = std::make_unique<Dataset>(img.train.subset(kiln.val).to(ctx.device));
  d.unlabeled = std::make_unique<Dataset>(img.train.subset(unl).to(ctx.device));
  const Dataset test = o.common.test_limit > 0 ? img.test.head(o.common.test_limit) : img.test;
  d.cls.test = std::make_unique<Dataset>(test.to(ctx.device));
  d.cls.description = img.name + " (" + itos(d.cls.train->size()) + " train / " + itos(d.cls.val->size()) +
                      " validation / " + itos(d.unlabeled->size()) + " unlabelled / " +
                      itos(d.cls.test->size()) + " test)";
  if (o.common.limit > 0) d.cls.description += ", --limit " + itos(o.common.limit);
  if (o.unlabeled_limit > 0) d.cls.description += ", --unlabeled-limit " + itos(o.unlabeled_limit);
  if (o.common.test_limit > 0) d.cls.description += ", --test-limit " + itos(o.common.test_limit);
  if (!img.substitution.empty()) d.cls.description += "; " + img.substitution;
  return d;
}

}  // namespace kiln
