// The environment switches the GPU check relies on: the strict on/off parser, and
// KILN_NO_REEXEC (which keeps compute-sanitizer watching the process it started).
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "core/cpu_runtime.h"
#include "core/env_switch.h"
#include "core/error.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

TEST(EnvSwitch, AcceptsOneAndZeroOnly) {
  EXPECT_FALSE(parse_env_switch("KILN_X", nullptr));
  EXPECT_FALSE(parse_env_switch("KILN_X", ""));
  EXPECT_FALSE(parse_env_switch("KILN_X", "0"));
  EXPECT_TRUE(parse_env_switch("KILN_X", "1"));
  // A misspelt value must not silently leave a debugging switch off.
  for (const char* bad : {"yes", "true", "on", "2", " 1", "10"}) {
    const std::string message = testing::error_of([&] { parse_env_switch("KILN_NO_CUDA_CACHING", bad); });
    EXPECT_TRUE(testing::mentions(message, {"KILN_NO_CUDA_CACHING=", bad, "expected 1"})) << bad;
  }
}

// Sets (or unsets) one environment variable for the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_ ? setenv(name_, old_->c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(CpuTuning, NeverReExecutesWhenAskedNotToOrUnderAnInjectedCudaTool) {
  ScopedEnv no_injection("CUDA_INJECTION64_PATH", nullptr);
  {
    ScopedEnv unset("KILN_NO_REEXEC", nullptr);
    EXPECT_TRUE(cpu_tuning_may_reexec());
  }
  {
    ScopedEnv off("KILN_NO_REEXEC", "0");
    EXPECT_TRUE(cpu_tuning_may_reexec());
  }
  {
    ScopedEnv on("KILN_NO_REEXEC", "1");
    EXPECT_FALSE(cpu_tuning_may_reexec());
  }
  {
    ScopedEnv bad("KILN_NO_REEXEC", "please");
    EXPECT_TRUE(
        testing::mentions(testing::error_of([] { cpu_tuning_may_reexec(); }), {"KILN_NO_REEXEC=please"}));
  }
  {
    ScopedEnv unset("KILN_NO_REEXEC", nullptr);
    ScopedEnv injected("CUDA_INJECTION64_PATH", "/opt/tool/libinjection.so");
    EXPECT_FALSE(cpu_tuning_may_reexec());
  }
}

// With KILN_NO_REEXEC=1 tune_cpu_runtime returns in this process and leaves the settings for
// the programs it starts. Were it to re-execute, this process would be replaced by one running
// only the next test, which fails when it finds the marker this test sets.
TEST(CpuTuning, WithoutReExecTheSettingsStillReachChildProcesses) {
  ScopedEnv on("KILN_NO_REEXEC", "1");
  ScopedEnv untuned("KILN_CPU_TUNED", nullptr);
  ScopedEnv tuning("KILN_NO_CPU_TUNING", nullptr);
  ScopedEnv wait_policy("OMP_WAIT_POLICY", nullptr);
  ScopedEnv marker("KILN_TEST_REEXEC_MARKER", "1");
  char arg0[] = "kiln_tests";
  char arg1[] = "--gtest_filter=CpuTuning.NotReachedByAReExec";
  char* argv[] = {arg0, arg1, nullptr};
  tune_cpu_runtime(argv);
  if (std::string(blas_threading()) == "pthreads") {
    ASSERT_NE(std::getenv("OMP_WAIT_POLICY"), nullptr);
    EXPECT_EQ(std::string(std::getenv("OMP_WAIT_POLICY")), "passive");
  } else {
    // OpenBLAS on OpenMP's own threads: OpenMP's default waiting is left alone.
    EXPECT_EQ(std::getenv("OMP_WAIT_POLICY"), nullptr) << "OpenBLAS threading: " << blas_threading();
  }
  EXPECT_EQ(std::getenv("KILN_CPU_TUNED"), nullptr);
}

TEST(CpuTuning, NotReachedByAReExec) {
  EXPECT_EQ(std::getenv("KILN_TEST_REEXEC_MARKER"), nullptr)
      << "tune_cpu_runtime re-executed the test program although KILN_NO_REEXEC=1";
}

}  // namespace
}  // namespace kiln
