#!/bin/bash
# ctk exec into a ctk container (ctk run -d --net none, busybox test image):
# what a user checks from inside. Namespaces, root, cwd, environment, the
# container's cgroup, capability bounding set, no_new_privs and seccomp
# filter (against the container's PID 1), -u from the container's passwd,
# -w, -e, --env-file, -d, --privileged, -t with a real pty from the
# container's devpts, and --keep-host-fs with the host's ps.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/ctk-store.sh"
command -v python3 >/dev/null || skip_or_fail "python3 is missing"

ctk_store exec-ctk
ctk_store_busybox

ctk run -d --net none --name web -h webhost -e FROM_RUN=yes -w /tmp bb sleep 100000 >/dev/null ||
    fail "ctk run -d"
PID=$(ctk inspect --format '{{.State.Pid}}' web)
[[ $PID =~ ^[1-9][0-9]*$ ]] || fail "no PID for the container: '$PID'"

x() { ctk exec web "$@"; }
# Namespaces and root.
for ns in mnt uts ipc net pid cgroup; do
    expect_eq "exec joins the $ns namespace" "$(x readlink /proc/self/ns/$ns)" "$(readlink /proc/$PID/ns/$ns)"
done
expect_eq "hostname" "$(x hostname)" "webhost"
expect_eq "/proc/1/cmdline" "$(x cat /proc/1/cmdline | tr '\0' ' ')" "sleep 100000 "
expect_eq "the container's root" "$(x ls /bin/busybox)" "/bin/busybox"
expect_eq "the target's working directory" "$(x pwd)" "/tmp"
expect_eq "-w" "$(x pwd; ctk exec -w /etc web pwd)" "/tmp
/etc"
# Environment: the container's, -e overrides, --env-file.
expect_eq "the container's environment" "$(x sh -c 'echo $FROM_RUN')" "yes"
expect_eq "-e overrides" "$(ctk exec -e FROM_RUN=no -e NEW=1 web sh -c 'echo $FROM_RUN$NEW')" "no1"
printf 'A=1\n# c\nB=two words\n' >"$T/env"
expect_eq "--env-file" "$(ctk exec --env-file "$T/env" web sh -c 'echo "$A/$B"')" "1/two words"
# cgroups: every hierarchy (v1) and the unified one.
expect_eq "the container's cgroups, inside" "$(x cat /proc/self/cgroup)" "$(x cat /proc/1/cgroup)"
ctk exec -d web sleep 31.5 || fail "exec -d sleep"
for i in $(seq 100); do SPID=$(pgrep -f '^sleep 31.5$') && break; sleep 0.05; done
[ -n "$SPID" ] || fail "the detached sleep is not running"
expect_eq "the container's cgroups, from the host" "$(cat /proc/$SPID/cgroup)" "$(cat /proc/$PID/cgroup)"
kill "$SPID"
# Confinement: the same bounding set, no_new_privs and seccomp mode as PID 1.
field() { awk -v k="$1:" '$1 == k { print $2 }' "$2"; }
x cat /proc/self/status >"$T/status"
for k in CapBnd CapEff NoNewPrivs Seccomp; do
    expect_eq "$k as the container's" "$(field $k "$T/status")" "$(field $k /proc/$PID/status)"
done
expect_eq "the seccomp filter is there" "$(field Seccomp "$T/status")" "2"
# The copied filter acts: docker's profile refuses unshare(CLONE_NEWNS) and mount.
x unshare -m true 2>/dev/null && fail "unshare -m worked under the container's seccomp filter"
expect_eq "--privileged: full bounding set" "$(ctk exec --privileged web cat /proc/self/status | awk '$1=="CapBnd:"{print $2}')" \
    "$(awk '$1=="CapBnd:"{print $2}' /proc/self/status)"
expect_eq "--privileged: no seccomp" "$(ctk exec --privileged web cat /proc/self/status | awk '$1=="Seccomp:"{print $2}')" "0"
x sh -c 'mount -t tmpfs t /tmp' 2>/dev/null && fail "mount worked without --privileged"
expect_eq "--privileged: mount works" "$(ctk exec --privileged web sh -c 'mkdir -p /m && mount -t tmpfs t /m && echo mounted; umount /m')" "mounted"
# Users from the container's files.
expect_eq "-u nobody" "$(ctk exec -u nobody web id -u)" "65534"
expect_eq "-u uid:gid" "$(ctk exec -u 1000:1000 web sh -c 'echo $(id -u):$(id -g)')" "1000:1000"
expect_eq "-u nobody: HOME from passwd" "$(ctk exec -u nobody web sh -c 'echo $HOME')" \
    "$(awk -F: '$1=="nobody"{print $6}' /proc/$PID/root/etc/passwd)"
out=$(ctk exec -u nosuchuser web true 2>&1); rc=$?
expect_eq "unknown user status" "$rc" 125
expect_contains "unknown user" "$out" "unable to find user nosuchuser"
# A passwd symlinked out of the container is read inside it, not on the host.
ctk exec web sh -c 'mkdir -p /tmp/evil && echo "evil:x:4242:4242::/:/bin/sh" > /tmp/evil/passwd'
ctk exec web sh -c 'cp /etc/passwd /etc/passwd.orig && ln -sf ../../../../../../tmp/evil/passwd /etc/passwd'
expect_eq "passwd through a symlink stays inside" "$(ctk exec -u evil web id -u)" "4242"
ctk exec web sh -c 'rm /etc/passwd && mv /etc/passwd.orig /etc/passwd'
# No host descriptor crosses in, not even one the caller leaks (fd 7 here):
# stdin/stdout/stderr and the directory ls itself opens.
expect_eq "only stdio inside" "$(x ls /proc/self/fd 7</etc/hostname | tr '\n' ' ')" "0 1 2 3 "
# and no host working directory or root.
expect_eq "cwd and root are the container's" "$(cd /usr && x sh -c 'readlink /proc/self/cwd; readlink /proc/self/root')" "/tmp
/"
# Exit statuses.
expect_eq "exit status" "$(x sh -c 'exit 42'; echo $?)" "42"
out=$(x no-such-command 2>&1); rc=$?
expect_eq "not found status" "$rc" 127
expect_contains "not found message" "$out" 'exec: "no-such-command": executable file not found in $PATH'
# -i copies stdin; without -i the command's stdin is empty.
expect_eq "-i" "$(echo piped | ctk exec -i web cat)" "piped"
expect_eq "no -i" "$(echo piped | ctk exec web cat)" ""
# -d: returns at once, the command runs on in the container.
ctk exec -d web sh -c 'sleep 0.3; echo done > /tmp/detached' || fail "exec -d"
sleep 1
expect_eq "-d ran" "$(x cat /tmp/detached)" "done"

# Signals sent to ctk reach the command.
"$CTK_BIN" --root "$T/root" --run-root "$T/run" exec web sh -c 'sleep 30 & p=$!; trap "kill $p; echo got-term > /tmp/sig; exit 7" TERM; wait' &
CP=$!
for i in $(seq 100); do pgrep -f 'sleep 30$' >/dev/null && break; sleep 0.05; done
sleep 0.2
kill -TERM "$CP"
wait "$CP"; rc=$?
expect_eq "SIGTERM forwarded: the command's status" "$rc" 7
expect_eq "SIGTERM forwarded: the trap ran" "$(x cat /tmp/sig)" "got-term"

# -t: a pty of the container's own devpts; `tty` names it and it exists inside.
python3 - "$CTK_BIN" "$T" >"$T/tty.out" <<'PY' || fail "exec -t under a pty failed: $(cat "$T/tty.out")"
import os, pty, sys, select
ctk, t = sys.argv[1], sys.argv[2]
argv = [ctk, "--root", t + "/root", "--run-root", t + "/run", "exec", "-t", "web", "sh", "-c",
        "tty; stty size; test -c $(tty) && echo exists; sleep 1; stty size"]
pid, fd = pty.fork()
if pid == 0:
    os.execv(ctk, argv)
import fcntl, termios, struct
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
out = b""
resized = False
while True:
    try:
        r, _, _ = select.select([fd], [], [], 10)
        if not r:
            break
        b = os.read(fd, 4096)
        if not b:
            break
        out += b
        if b"exists" in out and not resized:
            # The terminal changes size: SIGWINCH reaches ctk, which passes the size on.
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 44, 123, 0, 0))
            resized = True
    except OSError:
        break
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
sys.exit(os.waitstatus_to_exitcode(st))
PY
ttyname=$(sed -n 1p "$T/tty.out")
[[ $ttyname =~ ^/dev/pts/[0-9]+$ ]] || fail "-t: tty printed '$ttyname'"
expect_eq "-t: window size" "$(sed -n 2p "$T/tty.out")" "33 111"
expect_eq "-t: the pty exists inside" "$(sed -n 3p "$T/tty.out")" "exists"
expect_eq "-t: the window size follows the terminal" "$(sed -n 4p "$T/tty.out")" "44 123"

# --keep-host-fs: the host's ps, the container's processes; its root at /target.
ps_out=$(ctk exec --keep-host-fs web ps -e -o pid=,comm=,args=) || fail "exec --keep-host-fs ps"
# (-d above left a zombie: the container's init, sleep, never reaps it.)
[ "$(grep -v defunct <<<"$ps_out" | awk '{print $2}' | sort | tr '\n' ' ')" = "ps sleep " ] ||
    fail "--keep-host-fs: ps must see the container's sleep and itself, saw: $ps_out"
expect_eq "--keep-host-fs: the host's files" "$(ctk exec --keep-host-fs web readlink -f /usr/bin/ps)" "$(readlink -f /usr/bin/ps)"
expect_eq "--keep-host-fs: /target" "$(ctk exec --keep-host-fs web cat /target/etc/hostname)" "webhost"
expect_eq "--keep-host-fs: the net namespace's /sys" "$(ctk exec --keep-host-fs web ls /sys/class/net)" "lo"
findmnt -rn -o TARGET | grep -q '^/target' && fail "--keep-host-fs left a mount on the host"
echo "PASS"
