// kiln's one exception type and the checks that raise it.
// Every error a user can cause (bad path, bad shape, bad flag) becomes a kiln::Error whose
// message names the thing and what was expected; the CLI prints it on one line.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace kiln {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
// Streams every argument into one string, so checks can say `KILN_CHECK(x > 0, "x must be > 0, got ", x)`.
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

}  // namespace kiln

// Throws kiln::Error with the streamed message when `cond` is false.
#define KILN_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) throw ::kiln::Error(::kiln::detail::concat(__VA_ARGS__)); \
  } while (0)

// Unconditional failure with a streamed message.
#define KILN_FAIL(...) throw ::kiln::Error(::kiln::detail::concat(__VA_ARGS__))
