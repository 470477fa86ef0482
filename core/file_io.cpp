// Whole-file reads and atomic (crash-safe) writes.
#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace kiln {

namespace {

std::string errno_text() { return std::strerror(errno); }

std::string parent_dir(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string parent = p.parent_path().string();
  return parent.empty() ? "." : parent;
}

// Closes a descriptor on every exit path.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  KILN_CHECK(f.fd >= 0, "cannot open '", path, "': ", errno_text());
  struct stat st {};
  KILN_CHECK(::fstat(f.fd, &st) == 0, "cannot stat '", path, "': ", errno_text());
  KILN_CHECK(!S_ISDIR(st.st_mode), "'", path, "' is a directory, expected a file");
  KILN_CHECK(static_cast<uint64_t>(st.st_size) <= max_bytes, "'", path, "' is ", st.st_size,
             " bytes, more than the limit of ", max_bytes);
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(f.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    KILN_CHECK(n >= 0, "error reading '", path, "': ", errno_text());
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
    KILN_CHECK(f.fd >= 0, "cannot write '", path, "': creating '", tmp, "' failed: ", errno_text());
    const auto* p = static_cast<const char*>(data);
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(f.fd, p + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        KILN_FAIL("cannot write '", path, "': ", why);
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(f.fd) != 0) {
      const std::string why = errno_text();
      ::unlink(tmp.c_str());
      KILN_FAIL("cannot write '", path, "': fsync failed: ", why);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    KILN_FAIL("cannot write '", path, "': rename failed: ", why);
  }
  // Make the rename itself durable.
  Fd dir{::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd >= 0) ::fsync(dir.fd);
}

int remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".tmp.";
  std::error_code ec;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(parent_dir(path), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && entry.is_regular_file(ec)) {
      if (fs::remove(entry.path(), ec)) ++removed;
    }
  }
  return removed;
}

}  // namespace kiln
