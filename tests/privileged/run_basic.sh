#!/bin/bash
# ctk run over a busybox image loaded into a private store: what a user checks
# from inside the container (output, exit codes, env, cwd, user, hostname,
# read-only root, bind mounts, tmpfs, capabilities, seccomp, masked paths,
# limits), and that --rm leaves no state, cgroup or mount behind.
# Networks are "none" or "host" here (no interface is created); bridge tests
# live in run_network.sh inside a namespace of their own.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/ctk-store.sh"

ctk_store run-basic
ctk_store_busybox

run() { ctk run --rm --net none bb "$@"; }

# Output and exit codes.
expect_eq "echo" "$(run echo hi)" "hi"
run sh -c 'exit 3'; expect_eq "exit code" "$?" 3
out=$(run nosuchcommand 2>&1); rc=$?
expect_eq "missing command status" "$rc" 127
expect_contains "missing command message" "$out" "executable file not found"
printf '#!/bin/sh\n' >"$T/noexec"; chmod 644 "$T/noexec"
run_ne=$(ctk run --rm --net none -v "$T/noexec:/noexec:ro" bb /noexec 2>&1); rc=$?
expect_eq "not executable status" "$rc" 126
out=$(run sh -c 'echo out; echo err >&2' 2>"$T/err")
expect_eq "stdout" "$out" "out"
expect_eq "stderr" "$(cat "$T/err")" "err"

# Environment, working directory, user, hostname.
expect_eq "-e" "$(ctk run --rm --net none -e FOO=bar bb sh -c 'echo $FOO')" "bar"
printf 'A=1\n# comment\nB=two words\n' >"$T/env"
expect_eq "--env-file" "$(ctk run --rm --net none --env-file "$T/env" bb sh -c 'echo "$A/$B"')" "1/two words"
expect_eq "-w" "$(ctk run --rm --net none -w /var/tmp/new bb pwd)" "/var/tmp/new"
expect_eq "-u uid:gid" "$(ctk run --rm --net none -u 1000:1000 bb sh -c 'echo $(id -u):$(id -g)')" "1000:1000"
expect_eq "-u name" "$(ctk run --rm --net none -u nobody bb id -u)" "65534"
ctk run --rm --net none -u nosuchuser bb true 2>"$T/err"; rc=$?
[ "$rc" = 125 ] || fail "unknown user: status $rc, expected 125"
expect_contains "unknown user" "$(cat "$T/err")" "unable to find user nosuchuser"
expect_eq "-h" "$(ctk run --rm --net none -h myhost bb hostname)" "myhost"
expect_eq "/etc/hostname" "$(ctk run --rm --net none -h myhost bb cat /etc/hostname)" "myhost"

# Filesystems.
run sh -c 'echo x > /newfile' || fail "the root must be writable without --read-only"
ctk run --rm --net none --read-only bb sh -c 'echo x > /newfile' 2>/dev/null &&
    fail "--read-only: writing / succeeded"
mkdir "$T/vol"; echo hostdata >"$T/vol/f"
expect_eq "-v ro read" "$(ctk run --rm --net none -v "$T/vol:/data:ro" bb cat /data/f)" "hostdata"
ctk run --rm --net none -v "$T/vol:/data:ro" bb sh -c 'echo y > /data/g' 2>/dev/null &&
    fail "-v :ro: writing succeeded"
ctk run --rm --net none -v "$T/vol:/data" bb sh -c 'echo y > /data/g' || fail "-v rw: write failed"
expect_eq "-v rw write reaches the host" "$(cat "$T/vol/g")" "y"
expect_eq "--tmpfs" "$(ctk run --rm --net none --tmpfs /scratch bb sh -c 'grep " /scratch " /proc/mounts | cut -d" " -f3')" "tmpfs"
# A mount destination through an image symlink stays inside the root.
ctk run --rm --net none -v "$T/vol:/etc/passwd-dir:ro" bb true || fail "bind into /etc"
ctk run --rm --net none bb ls /dev/null /dev/zero /dev/urandom /dev/tty /dev/pts/ptmx >/dev/null ||
    fail "standard /dev nodes missing"

# Confinement: docker's default capabilities, seccomp filter mode, no_new_privs,
# masked and read-only /proc paths.
status=$(run cat /proc/self/status)
expect_eq "CapEff" "$(awk '/^CapEff/ {print $2}' <<<"$status")" "00000000a80425fb"
expect_eq "Seccomp" "$(awk '/^Seccomp:/ {print $2}' <<<"$status")" "2"
expect_eq "NoNewPrivs" "$(awk '/^NoNewPrivs/ {print $2}' <<<"$status")" "1"
for p in /proc/kcore /proc/keys /proc/timer_list; do
    [ -e "$p" ] || continue # not on every kernel
    expect_eq "masked $p" "$(run sh -c "wc -c < $p")" "0"
done
run sh -c 'echo 1 > /proc/sys/kernel/ns_last_pid' 2>/dev/null && fail "/proc/sys is writable"
priv=$(ctk run --rm --net none --privileged bb cat /proc/self/status)
expect_eq "privileged Seccomp" "$(awk '/^Seccomp:/ {print $2}' <<<"$priv")" "0"
expect_eq "--cap-drop ALL" "$(ctk run --rm --net none --cap-drop ALL bb awk '/^CapEff/ {print $2}' /proc/self/status)" "0000000000000000"

# Breakout (CVE-2019-5736): a command whose interpreter is /proc/self/exe
# reaches only the sealed exec helper (which refuses the short argument list
# with 125), never ctk's binary, which stays unchanged.
sum=$(sha256sum <"$CTK_BIN")
mkdir "$T/evil" && printf '#!/proc/self/exe\n' >"$T/evil/x" && chmod 755 "$T/evil/x"
ctk run --rm --net none -v "$T/evil:/evil:ro" bb /evil/x >/dev/null 2>&1; rc=$?
expect_eq "#!/proc/self/exe status (the sealed helper ran)" "$rc" 125
expect_eq "ctk binary unchanged" "$(sha256sum <"$CTK_BIN")" "$sum"
fds=$(run ls /proc/self/fd | tr '\n' ' ')
expect_eq "descriptors in the container" "$fds" "0 1 2 3 "

# Namespaces: PID 1 is the command; --pid host shares the host's.
expect_eq "pid 1" "$(run sh -c 'echo $$')" "1"
[ "$(ctk run --rm --net none --pid host bb sh -c 'echo $$')" != 1 ] || fail "--pid host: still PID 1"
expect_eq "--init" "$(ctk run --rm --net none --init bb cat /proc/1/cmdline | tr '\0' ' ')" "/dev/init -- cat /proc/1/cmdline "
[ "$(readlink /proc/self/ns/net)" = "$(ctk run --rm --net host bb readlink /proc/self/ns/net)" ] ||
    fail "--net host: another network namespace"
# --pid and --ipc container:TARGET join the target's namespaces; --ipc also
# shares its /dev/shm (POSIX shared memory), both ways, as docker does.
ctk run -d --net none --name nsowner bb sh -c 'echo from-owner > /dev/shm/owner; sleep 100' >/dev/null ||
    fail "run -d nsowner"
opid=$(ctk inspect -f '{{.State.Pid}}' nsowner)
for kind in pid ipc; do
    expect_eq "--$kind container: same namespace" \
        "$(ctk run --rm --net none --$kind container:nsowner bb readlink /proc/self/ns/$kind)" \
        "$(readlink /proc/$opid/ns/$kind)"
done
expect_eq "--pid container: the target's processes" \
    "$(ctk run --rm --net none --pid container:nsowner bb cat /proc/1/cmdline | tr '\0' ' ')" \
    "sleep 100 " # sh execs its last command
expect_eq "--ipc container: the target's /dev/shm" \
    "$(ctk run --rm --net none --ipc container:nsowner bb sh -c 'cat /dev/shm/owner; echo from-guest > /dev/shm/guest')" \
    "from-owner"
expect_eq "--ipc container: written back" "$(cat /proc/$opid/root/dev/shm/guest)" "from-guest"
ctk rm -f nsowner >/dev/null || fail "rm -f nsowner"

# Limits, checked from the host while the container runs.
id=$(ctk run -d --net none -m 64m --pids-limit 50 --cpus 0.5 bb sleep 100) || fail "run -d"
expect_eq "id" "${#id}" 64
expect_eq "inspect -f (docker's short --format)" "$(ctk inspect -f '{{.State.Status}} {{.HostConfig.Memory}}' "$id")" "running 67108864"
mem=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ {print $2; exit}' /proc/mounts)
pids=$(awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ {print $2; exit}' /proc/mounts)
if [ -n "$mem" ]; then
    expect_eq "memory limit" "$(cat "$mem/ctk/$id/memory.limit_in_bytes")" 67108864
    expect_eq "pids limit" "$(cat "$pids/ctk/$id/pids.max")" 50
elif [ -f /sys/fs/cgroup/ctk/$id/memory.max ]; then
    expect_eq "memory limit" "$(cat /sys/fs/cgroup/ctk/$id/memory.max)" 67108864
    expect_eq "pids limit" "$(cat /sys/fs/cgroup/ctk/$id/pids.max)" 50
else
    fail "no cgroup of container $id"
fi
# Inside, /sys/fs/cgroup is the container's own cgroup (its cgroup
# namespace's root), read-only, and shows the same limit.
if [ -n "$mem" ]; then
    inside=$(ctk run --rm --net none -m 32m bb sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; ls /sys/fs/cgroup/memory/ctk 2>&1 >/dev/null | grep -c "No such"; mkdir /sys/fs/cgroup/memory/x 2>&1 | grep -c "Read-only"')
else
    inside=$(ctk run --rm --net none -m 32m bb sh -c 'cat /sys/fs/cgroup/memory.max; ls /sys/fs/cgroup/ctk 2>&1 >/dev/null | grep -c "No such"; mkdir /sys/fs/cgroup/x 2>&1 | grep -c "Read-only"')
fi
expect_eq "/sys/fs/cgroup inside: limit, own subtree, read-only" "$(echo $inside)" "33554432 1 1"
ctk rm -f "$id" >/dev/null || fail "rm -f"
[ ! -d "$mem/ctk/$id" ] || fail "cgroup left after rm -f"

# --rm leaves nothing: no state, no directory, no cgroup, no mount.
run true
expect_eq "containers after --rm" "$(ls "$T/root/containers" | grep -vc 'names')" "0"
expect_eq "run dirs after --rm" "$(ls "$T/run/containers" 2>/dev/null | wc -l)" "0"
findmnt -rn -o TARGET | grep -q "$T" && fail "mounts left under $T"
ls /sys/fs/cgroup/*/ctk/ 2>/dev/null | grep -q . && ls -d /sys/fs/cgroup/*/ctk/*/ 2>/dev/null | grep -q "$id" &&
    fail "cgroups left"
echo "run_basic: ok"
