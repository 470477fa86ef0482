// The process-wide default generator (seed 0 until manual_seed).
#include "core/generator.h"

namespace kiln {

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

}  // namespace kiln
