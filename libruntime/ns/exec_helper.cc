// The sealed copy of the ctk-exec helper that every entry into a container
// execs last (ctk run's first process and ctk exec's command), so that
// /proc/PID/exe inside never names a host binary (CVE-2019-5736).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctk/runtime/exec.h"

namespace ctk::rt::ns {

Result<UniqueFd> sealed_exec_helper(const std::string &path_in) {
  std::string path = path_in;
  if (path.empty()) {
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
      return fail_errno("cannot find ctk's own binary");
    std::string bin(self, static_cast<size_t>(n));
    path = bin.substr(0, bin.rfind('/')) + "/../libexec/ctk/ctk-exec";
  }
  UniqueFd src(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src)
    return fail_errno("cannot open the exec helper " + path);
  struct stat st {};
  if (::fstat(src.get(), &st) != 0)
    return fail_errno("cannot stat " + path);
  UniqueFd mem(
      static_cast<int>(::syscall(SYS_memfd_create, "ctk-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!mem)
    return fail_errno("cannot create a memfd for the exec helper");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::sendfile(mem.get(), src.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n <= 0)
      return fail_errno("cannot copy the exec helper " + path);
  }
  if (::fchmod(mem.get(), 0555) != 0 ||
      ::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
          0)
    return fail_errno("cannot seal the exec helper");
  return mem;
}

} // namespace ctk::rt::ns
