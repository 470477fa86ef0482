// The `kiln` program: help texts, and bad input (unknown command or flag, out-of-range value,
// missing dataset, unwritable --out) giving one line on stderr and a non-zero exit.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/support/helpers.h"

namespace kiln {
namespace {

struct ProgramRun {
  int status;
  std::string out, err;
};

ProgramRun run(const std::string& args) {
  testing::TempDir dir;
  const std::string cmd = testing::kiln_binary() + " " + args + " >" + dir.file("out") + " 2>" + dir.file("err");
  const int raw = std::system(cmd.c_str());
  auto slurp = [](const std::string& path) {
    std::string s;
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      std::array<char, 4096> buf;
      size_t n;
      while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) s.append(buf.data(), n);
      std::fclose(f);
    }
    return s;
  };
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(dir.file("out")), slurp(dir.file("err"))};
}

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(Cli, HelpListsEveryCommandAndFlagDefaults) {
  const ProgramRun top = run("--help");
  EXPECT_EQ(top.status, 0);
  for (const char* c : {"early-stopping", "disturb-label", "disturb-value", "label-smoothing", "weighted-sampling",
                        "weighted-loss", "confusion-matrix", "pseudo-label", "batchnorm"})
    EXPECT_NE(top.out.find(c), std::string::npos) << c;
  const ProgramRun sub = run("early-stopping --help");
  EXPECT_EQ(sub.status, 0);
  EXPECT_NE(sub.out.find("--epochs INT:INT in [1 - 100000]=51"), std::string::npos) << sub.out;
  EXPECT_NE(sub.out.find("--protocol"), std::string::npos);
}

TEST(Cli, BadInputIsOneLineAndNonZero) {
  testing::TempDir dir;
  const std::string cases[] = {
      "no-such-command",
      "early-stopping --no-such-flag",
      "early-stopping --epochs -3",
      "early-stopping --protocol fancy",
      "early-stopping --dataset cifar10 --out " + dir.file("o"),
      "early-stopping --dataset mnist --data-dir /nonexistent --out " + dir.file("o"),
      "early-stopping --device cuda:7 --out " + dir.file("o"),
      "early-stopping --out /proc/kiln-cannot-write",
  };
  for (const std::string& args : cases) {
    const ProgramRun r = run(args + " --quiet");
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("kiln: error: ", 0), 0u) << args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace kiln
