/* ctk-exec: the last step into a container, run from a sealed memfd.
 *
 *   ctk-exec ERR_FD FILE ARGV0 [ARG...]
 *
 * The container's first process execs this program from a sealed copy in a
 * memfd (execveat AT_EMPTY_PATH), and it execs FILE. While it runs,
 * /proc/self/exe is the sealed memfd, so an image whose command leads back
 * to /proc/self/exe (a "#!/proc/self/exe" script, a PT_INTERP pointing at
 * it: CVE-2019-5736) reaches only this sealed copy, never ctk's binary on
 * the host. ERR_FD receives "<status> <message>" when FILE cannot be
 * executed; it is close-on-exec, so a successful exec closes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
  if (argc < 4)
    return 125;
  int err = atoi(argv[1]);
  fcntl(err, F_SETFD, FD_CLOEXEC);
  execve(argv[2], argv + 3, environ);
  int e = errno;
  int status = e == ENOENT ? 127 : 126;
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%d exec: \"%s\": %s", status, argv[3], strerror(e));
  if (n > 0 && write(err, msg, (size_t)n) < 0)
    return status;
  return status;
}
