// Device-resident Philox offsets for captured steps (see random_capture.h).
#include "core/random_capture.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/device_dispatch.h"
#include "core/error.h"
#include "core/generator.h"
#include "kernels/random.h"

namespace kiln {

namespace {

// The active capture per device. kiln queues all work from one host thread, and a process
// drives at most a few devices, so a short vector searched by Device (no string built per
// random op) suffices.
using ActiveCaptures = std::vector<std::pair<Device, RandomCapture*>>;
ActiveCaptures& active_captures() {
  static ActiveCaptures captures;
  return captures;
}

ActiveCaptures::iterator find_capture(Device device) {
  auto& captures = active_captures();
  return std::find_if(captures.begin(), captures.end(),
                      [&](const auto& entry) { return entry.first == device; });
}

void remove_capture(Device device) {
  const auto it = find_capture(device);
  if (it != active_captures().end()) active_captures().erase(it);
}

}  // namespace

RandomCapture::RandomCapture(Device device)
    : device_(device), cells_(Tensor::zeros({kMaxGenerators}, DType::Int64, device)) {}

RandomCapture::~RandomCapture() {
  if (capturing_) remove_capture(device_);
}

void RandomCapture::begin() {
  KILN_CHECK(!capturing_, "RandomCapture: begin() while already capturing on ", device_.str());
  KILN_CHECK(active(device_) == nullptr, "RandomCapture: another capture is already active on ",
             device_.str());
  entries_.clear();
  capturing_ = true;
  active_captures().emplace_back(device_, this);
}

void RandomCapture::end() {
  KILN_CHECK(capturing_, "RandomCapture: end() without begin()");
  capturing_ = false;
  remove_capture(device_);
}

PhiloxOffset RandomCapture::reserve(Generator& gen) {
  auto it =
      std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.generator == &gen; });
  if (it == entries_.end()) {
    KILN_CHECK(entries_.size() < static_cast<size_t>(kMaxGenerators), "a captured step may use at most ",
               kMaxGenerators, " random generators");
    entries_.push_back({&gen, 0, gen.seed()});
    it = entries_.end() - 1;
    // On the CPU the op runs now, so its cell must hold the generator's offset now.
    if (device_.is_cpu()) *cell(entries_.size() - 1) = gen.offset();
  }
  return PhiloxOffset{it->draws++, cell(static_cast<size_t>(it - entries_.begin()))};
}

void RandomCapture::prepare_replay() {
  KILN_CHECK(!capturing_, "RandomCapture: prepare_replay() while capturing");
  kernels::OffsetCells values;
  values.count = static_cast<int>(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    Generator& g = *entries_[i].generator;
    values.values[i] = g.offset();
    g.set_offset(g.offset() + entries_[i].draws);
  }
  if (values.count == 0) return;
  uint64_t* cells = cell(0);
  KILN_ON_DEVICE(device_, write_offset_cells)(cells, values);
}

uint64_t RandomCapture::draws_per_replay(const Generator& gen) const {
  for (const Entry& e : entries_)
    if (e.generator == &gen) return e.draws;
  return 0;
}

bool RandomCapture::seeds_unchanged() const {
  for (const Entry& e : entries_)
    if (e.generator->seed() != e.seed) return false;
  return true;
}

RandomCapture* RandomCapture::active(Device device) {
  if (active_captures().empty()) return nullptr;
  const auto it = find_capture(device);
  return it == active_captures().end() ? nullptr : it->second;
}

bool RandomCapture::any_active() { return !active_captures().empty(); }

}  // namespace kiln
