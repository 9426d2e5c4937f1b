/* ctk-exec: the last step into a container, run from a sealed memfd.
 *
 *   ctk-exec ERR_FD FILE ARGV0 [ARG...]
 *
 * The container's first process (ctk run) and every `ctk exec` command exec
 * this program from a sealed copy in a memfd (execveat AT_EMPTY_PATH), and it
 * execs FILE. While it runs, /proc/self/exe is the sealed memfd, so an image
 * whose command leads back to /proc/self/exe (a "#!/proc/self/exe" script, a
 * PT_INTERP pointing at it: CVE-2019-5736) reaches only this sealed copy,
 * never ctk's binary on the host. ERR_FD receives "<status> <message>" when
 * FILE cannot be executed; it is close-on-exec, so a successful exec closes it.
 *
 * No libc: the helper is copied into a memfd and exec'd once per container
 * start and per `ctk exec`, so its size and start-up are on that path. A
 * static glibc program is ~750 KiB and runs glibc's start-up (cpu feature
 * and cache probing, IRELATIVE relocs); this one is a few KiB and makes four
 * system calls. Architectures without the few lines of assembly below build
 * the same logic against libc (CTK_EXEC_LIBC).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>

#if !defined(__x86_64__) && !defined(__aarch64__)
#define CTK_EXEC_LIBC 1
#endif

#ifdef CTK_EXEC_LIBC
#include <unistd.h>
static long sys3(long n, long a, long b, long c) {
  return syscall(n, a, b, c);
}
#elif defined(__x86_64__)
static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
#elif defined(__aarch64__)
static long sys3(long n, long a, long b, long c) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}
#endif

/* errno names as docker prints them (Go's lowercase strerror). */
static const char *errno_text(long e) {
  switch (e) {
  case ENOENT:
    return "no such file or directory";
  case EACCES:
    return "permission denied";
  case ENOEXEC:
    return "exec format error";
  case ENOTDIR:
    return "not a directory";
  case EISDIR:
    return "is a directory";
  case ELOOP:
    return "too many levels of symbolic links";
  case E2BIG:
    return "argument list too long";
  case ENOMEM:
    return "cannot allocate memory";
  case ETXTBSY:
    return "text file busy";
  case ENAMETOOLONG:
    return "file name too long";
  case EPERM:
    return "operation not permitted";
  case EINVAL:
    return "invalid argument";
  case EIO:
    return "input/output error";
  case ELIBBAD:
    return "accessing a corrupted shared library";
  }
  return 0;
}

static int parse_fd(const char *s) {
  int v = 0;
  if (!*s)
    return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || v > 100000)
      return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

static char *put(char *p, char *end, const char *s) {
  while (*s && p < end)
    *p++ = *s++;
  return p;
}

static char *put_num(char *p, char *end, long v) {
  char tmp[24];
  int n = 0;
  if (v < 0) {
    p = put(p, end, "-");
    v = -v;
  }
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && n < (int)sizeof tmp);
  while (n > 0 && p < end)
    *p++ = tmp[--n];
  return p;
}

static int helper_main(int argc, char **argv, char **envp) {
  if (argc < 4)
    return 125;
  int err = parse_fd(argv[1]);
  if (err >= 0)
    sys3(SYS_fcntl, err, F_SETFD, FD_CLOEXEC);
  long r = sys3(SYS_execve, (long)argv[2], (long)(argv + 3), (long)envp);
  long e = -r;
  int status = e == ENOENT ? 127 : 126;
  char msg[512], *p = msg, *end = msg + sizeof msg;
  p = put_num(p, end, status);
  p = put(p, end, " exec: \"");
  p = put(p, end, argv[3]);
  p = put(p, end, "\": ");
  const char *t = errno_text(e);
  if (t) {
    p = put(p, end, t);
  } else {
    p = put(p, end, "errno ");
    p = put_num(p, end, e);
  }
  if (err >= 0)
    sys3(SYS_write, err, (long)msg, (long)(p - msg));
  return status;
}

#ifdef CTK_EXEC_LIBC
extern char **environ;
int main(int argc, char **argv) {
  return helper_main(argc, argv, environ);
}
#else
/* The kernel's initial stack: argc, argv[], NULL, envp[], NULL. */
__attribute__((used)) static void start_c(long *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  sys3(SYS_exit_group, helper_main(argc, argv, envp), 0, 0);
  for (;;) {
  }
}
#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n"
        "  call start_c\n  hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n  mov x29, #0\n  mov x30, #0\n  mov x0, sp\n"
        "  bl start_c\n  brk #0\n");
#endif
#endif
