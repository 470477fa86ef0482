// libFuzzer target: the numeric CSV reader (both the plain and the scikit-learn layouts).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const kiln::Table t =
        kiln::parse_csv_table(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
    if (t.columns.size() >= 2) (void)kiln::table_to_dataset(t, t.columns.back());
  } catch (const kiln::Error&) {
  }
  return 0;
}
