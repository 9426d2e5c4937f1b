#!/bin/bash
# ctk nsenter and ctk exec on plain processes in namespaces made by unshare:
# each namespace type alone and all together, checked from inside
# (/proc/self/ns/* inodes, hostname, the netns's address, /proc/1/cmdline in
# the pid namespace), a user-namespaced target, a target that exits during
# entry, and bad input (unknown target, a namespace file that is not one,
# a command that does not exist).
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
command -v unshare >/dev/null && command -v ip >/dev/null || skip_or_fail "needs unshare and ip (util-linux, iproute2)"

T=$(mktemp -d /tmp/ctk-exec-ns.XXXXXX)
PIDS=()
# The targets are the init of their pid namespace: only SIGKILL reaches them
# from here, and killing unshare would leave them behind.
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p"; done
    wait
    rm -rf "$T"
}
on_exit cleanup
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }

# start_target FILE UNSHARE-ARGS... -- CMD: the PID of CMD (the process
# inside the new namespaces, not unshare), written by CMD itself once set up.
wait_file() { local i; for i in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

# A target in new mount, uts, ipc, net, pid, cgroup and time namespaces.
unshare --mount --uts --ipc --net --pid --cgroup --time --fork --mount-proc \
    sh -c 'hostname ctk-exec-target; ip link set lo up; ip addr add 10.77.0.1/8 dev lo;
           exec sleep 100000' </dev/null >/dev/null 2>&1 &
PIDS+=($!)
UNSHARE=$!
TGT=
for i in $(seq 200); do
    TGT=$(pgrep -P "$UNSHARE" -x sleep) && [ -n "$TGT" ] && break
    sleep 0.05
done
[ -n "$TGT" ] || fail "the unshare target did not start"
PIDS+=("$TGT")
echo "target: PID $TGT"

for ns in mnt uts ipc net pid cgroup time; do
    want=$(readlink "/proc/$TGT/ns/$ns")
    [ "$want" != "$(readlink /proc/self/ns/$ns)" ] || fail "the target's $ns namespace is the host's"
done

# Each namespace alone: /proc/self/ns/<ns> of the command (or, for pid and
# time, of a child: those apply to children) equals the target's.
# The target's /proc is a procfs of its pid namespace: -m alone cannot read
# /proc/self there (util-linux nsenter neither), so mnt is checked with -p.
declare -A OPT=([mnt]="-m -p" [uts]=-u [ipc]=-i [net]=-n [pid]=-p [cgroup]=-C [time]=-T)
for ns in mnt uts ipc net pid cgroup time; do
    want=$(readlink "/proc/$TGT/ns/$ns")
    got=$(ctk nsenter -t "$TGT" ${OPT[$ns]} readlink "/proc/self/ns/$ns" 2>&1) ||
        fail "nsenter ${OPT[$ns]}: $got"
    expect_eq "nsenter ${OPT[$ns]} joins the $ns namespace" "$got" "$want"
    # and only that one
    for other in uts net ipc; do
        [ "$other" = "$ns" ] && continue
        [ "$ns" = mnt ] && continue # /proc/self of the target's procfs is another pid view
        got=$(ctk nsenter -t "$TGT" ${OPT[$ns]} readlink "/proc/self/ns/$other")
        expect_eq "nsenter ${OPT[$ns]} leaves the $other namespace" "$got" "$(readlink /proc/self/ns/$other)"
    done
done
# A namespace file instead of the target's (nsenter's --net=FILE).
got=$(ctk nsenter --net="/proc/$TGT/ns/net" readlink /proc/self/ns/net)
expect_eq "--net=FILE" "$got" "$(readlink /proc/$TGT/ns/net)"
got=$(ctk nsenter -n"/proc/$TGT/ns/net" readlink /proc/self/ns/net)
expect_eq "-nFILE" "$got" "$(readlink /proc/$TGT/ns/net)"

# All together, with the facts a user checks.
for ns in mnt uts ipc net pid cgroup time; do
    got=$(ctk nsenter -t "$TGT" -a readlink "/proc/self/ns/$ns")
    expect_eq "nsenter -a: $ns" "$got" "$(readlink /proc/$TGT/ns/$ns)"
    got=$(ctk exec "$TGT" readlink "/proc/self/ns/$ns")
    expect_eq "exec: $ns" "$got" "$(readlink /proc/$TGT/ns/$ns)"
done
expect_eq "nsenter -u hostname" "$(ctk nsenter -t "$TGT" -u hostname)" "ctk-exec-target"
expect_contains "nsenter -n sees the target's address" "$(ctk nsenter -t "$TGT" -n ip -o addr show lo)" "10.77.0.1/8"
expect_eq "exec: /proc/1/cmdline in the pid namespace" \
    "$(ctk exec "$TGT" cat /proc/1/cmdline | tr '\0' ' ')" "sleep 100000 "
expect_eq "nsenter -p -m: /proc/1/cmdline" \
    "$(ctk nsenter -t "$TGT" -p -m cat /proc/1/cmdline | tr '\0' ' ')" "sleep 100000 "
expect_eq "exec: the command's PID is one of the namespace's" \
    "$(ctk exec "$TGT" sh -c 'readlink /proc/$$/exe')" "$(readlink -f /bin/sh)"
expect_eq "nsenter -F -p: no fork, so the pid namespace is not ours" \
    "$(ctk nsenter -t "$TGT" -p -F readlink /proc/self/ns/pid)" "$(readlink /proc/self/ns/pid)"
expect_eq "exec: cgroup namespace root" "$(ctk exec "$TGT" cat /proc/self/cgroup | grep -c '::/$')" "1"
expect_eq "exit status passes through" "$(ctk exec "$TGT" sh -c 'exit 7'; echo $?)" "7"
expect_eq "nsenter exit status passes through" "$(ctk nsenter -t "$TGT" -a sh -c 'exit 9'; echo $?)" "9"
expect_eq "pid:// target" "$(ctk exec "pid://$TGT" hostname)" "ctk-exec-target"
expect_eq "TARGET as nsenter's first word" "$(ctk nsenter -u "$TGT" hostname)" "ctk-exec-target"
expect_eq "-w/-r of the target" "$(cd /tmp && ctk nsenter -t "$TGT" -m -r -w pwd)" "$(readlink /proc/$TGT/cwd)"
expect_eq "-w/-r of the target, util-linux agrees" "$(cd /tmp && nsenter -t "$TGT" -m -r -w pwd)" "$(readlink /proc/$TGT/cwd)"
expect_eq "-W DIR inside" "$(ctk nsenter -t "$TGT" -m -r -W /proc pwd)" "/proc"
expect_eq "exec -w" "$(ctk exec -w /proc "$TGT" pwd)" "/proc"
expect_eq "exec -e" "$(ctk exec -e A=b "$TGT" sh -c 'echo $A')" "b"
expect_eq "nsenter -e copies the target's environment" \
    "$(ctk nsenter -t "$TGT" -e -a sh -c 'echo ${CTK_SECRET_HOST_VAR:-unset}' )" "unset"

# A user-namespaced target (unshare -U -r: root inside, us outside).
unshare --user --map-root-user --pid --fork --mount --mount-proc sleep 100000 </dev/null >/dev/null 2>&1 &
PIDS+=($!)
UNS=$!
UTGT=
for i in $(seq 200); do
    UTGT=$(pgrep -P "$UNS" -x sleep) && [ -n "$UTGT" ] && break
    sleep 0.05
done
[ -n "$UTGT" ] || fail "the user-namespaced target did not start"
PIDS+=("$UTGT")
expect_eq "nsenter -U: the user namespace" "$(ctk nsenter -t "$UTGT" -U readlink /proc/self/ns/user)" \
    "$(readlink /proc/$UTGT/ns/user)"
expect_eq "nsenter -a in a userns: uid 0 inside" "$(ctk nsenter -t "$UTGT" -a id -u)" "0"
expect_eq "nsenter -a in a userns: the pid namespace" "$(ctk nsenter -t "$UTGT" -a cat /proc/1/cmdline | tr '\0' ' ')" "sleep 100000 "
expect_eq "exec in a userns" "$(ctk exec "$UTGT" readlink /proc/self/ns/user)" "$(readlink /proc/$UTGT/ns/user)"
expect_eq "exec in a userns: uid 0 inside" "$(ctk exec "$UTGT" cat /proc/self/uid_map | awk '{print $1, $3}')" "0 1"
util=$(nsenter -t "$UTGT" -a readlink /proc/self/ns/user)
expect_eq "util-linux nsenter agrees" "$(ctk nsenter -t "$UTGT" -a readlink /proc/self/ns/user)" "$util"

# Bad input: one line naming the thing and the cause, non-zero status.
one_line_error() { # WHAT RC-EXPECTED NEEDLE CMD...
    local what=$1 want=$2 needle=$3 out rc=0
    shift 3
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" = "$want" ] || fail "$what: status $rc, expected $want ($out)"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "$what: want one line, got: $out"
    expect_contains "$what" "$out" "$needle"
}
one_line_error "unknown target" 125 "no-such-container-xyz" ctk exec no-such-container-xyz true
one_line_error "dead PID" 125 "no such process" ctk exec 999999 true
one_line_error "nsenter unknown target" 1 "no-such-container-xyz" ctk nsenter -t no-such-container-xyz -a true
one_line_error "missing command" 127 'exec: "no-such-command": executable file not found in $PATH' \
    ctk exec "$TGT" no-such-command
echo hi >"$T/notns"
one_line_error "namespace file that is not one" 1 "$T/notns" ctk nsenter --net="$T/notns" true
one_line_error "namespace file that does not exist" 1 "$T/nofile" ctk nsenter --net="$T/nofile" true
one_line_error "unknown user" 125 "unable to find user nosuchuser" ctk exec -u nosuchuser "$TGT" true
printf 'x\n' >"$T/noexec.sh"
one_line_error "not executable" 126 "ermission denied" ctk exec "$TGT" "$T/noexec.sh"

# A target that exits during entry: every attempt either works or fails
# with one clear line (status 125); none hangs or half-works.
sleep 0.4 </dev/null >/dev/null 2>&1 &
SHORT=$!
seen_fail=0
for i in $(seq 40); do
    rc=0
    out=$(timeout 10 "$CTK_BIN" exec "$SHORT" true 2>&1) || rc=$?
    case $rc in
    0) ;;
    125)
        [ "$(wc -l <<<"$out")" = 1 ] || fail "exiting target: more than one line: $out"
        expect_contains "exiting target error names the PID" "$out" "$SHORT"
        seen_fail=1 ;;
    *) fail "exiting target: status $rc: $out" ;;
    esac
    [ $seen_fail = 1 ] && ! [ -e /proc/$SHORT ] && break
    sleep 0.02
done
wait "$SHORT" 2>/dev/null
[ $seen_fail = 1 ] || fail "exiting target: no attempt failed after it exited"
echo "PASS"
