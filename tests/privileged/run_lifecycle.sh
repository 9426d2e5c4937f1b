#!/bin/bash
# The lifecycle of ctk containers across ctk processes: run -d, ps (filters,
# -q, -l, -n), the json-file log, stop, start (same upper dir), kill -s,
# wait, rm; unique names; and the teardown guarantees: --rm after the
# container's process is SIGKILLed, and after ctk itself is SIGKILLed during
# a foreground run (the monitor cleans up). Nothing may be left: state,
# directories, cgroups, mounts.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/ctk-store.sh"

ctk_store run-life
ctk_store_busybox

cgroup_exists() { ls -d /sys/fs/cgroup/*/ctk/"$1" /sys/fs/cgroup/ctk/"$1" 2>/dev/null | grep -q .; }
no_leftovers() { # no_leftovers ID WHAT
    [ ! -e "$T/root/containers/$1" ] || fail "$2: $T/root/containers/$1 left"
    [ ! -e "$T/run/containers/$1" ] || fail "$2: $T/run/containers/$1 left"
    cgroup_exists "$1" && fail "$2: cgroup of $1 left"
    findmnt -rn -o TARGET | grep -q "$1" && fail "$2: a mount of $1 is left"
    return 0
}
gone() { # gone ID: true once nothing of ID is left (no_leftovers, quietly)
    [ ! -e "$T/root/containers/$1" ] && [ ! -e "$T/run/containers/$1" ] && ! cgroup_exists "$1" &&
        ! findmnt -rn -o TARGET | grep -q "$1"
}

# run -d, ps, the log.
id=$(ctk run -d --name web --net none bb sh -c 'echo out; echo err >&2; echo data > /state; trap "exit 7" TERM; while :; do sleep 0.1; done') ||
    fail "run -d"
expect_eq "run -d prints the ID" "${#id}" 64
wait_until 5 grep -q '"stream":"stderr"' "$T/root/containers/$id/$id-json.log" || fail "no log"
log=$(cat "$T/root/containers/$id/$id-json.log")
expect_contains "log stdout line" "$log" '{"log":"out\n","stream":"stdout","time":"'
expect_contains "log stderr line" "$log" '{"log":"err\n","stream":"stderr","time":"'
ps=$(ctk ps)
expect_contains "ps header" "$ps" "CONTAINER ID   IMAGE"
expect_contains "ps row" "$ps" "${id:0:12}"
expect_contains "ps status" "$ps" "Up "
expect_eq "ps -q" "$(ctk ps -q)" "${id:0:12}"
expect_eq "ps --filter name" "$(ctk ps -q --filter name=we)" "${id:0:12}"
expect_eq "ps --filter status=exited" "$(ctk ps -q --filter status=exited)" ""
pid=$(ctk ps --format '{{.Pid}}')
[ "$pid" -gt 1 ] && [ -d "/proc/$pid" ] || fail "ps Pid $pid is not a live process"
# The monitor is not in the container's PID namespace.
mon=$(jq -r .monitor_pid "$T/run/containers/$id/state.json")
[ "$(readlink /proc/$mon/ns/pid)" != "$(readlink /proc/$pid/ns/pid)" ] ||
    fail "the monitor is inside the container's pid namespace"
ctk run -d --name web --net none bb true 2>"$T/err" && fail "a second container named web"
expect_contains "name in use" "$(cat "$T/err")" 'name "web" is already in use'
ctk rm web 2>"$T/err" && fail "rm of a running container without -f"

# stop: SIGTERM (the trap exits 7), the exit is recorded.
ctk stop -t 5 web >/dev/null || fail "stop"
expect_eq "status after stop" "$(ctk ps -a --format '{{.State}} {{.ExitCode}}')" "exited 7"
expect_contains "ps -a status" "$(ctk ps -a)" "Exited (7)"
expect_eq "ps without -a" "$(ctk ps -q)" ""
cgroup_exists "$id" && fail "cgroup left after stop"

# start: same upper dir (the file written by the first run is there).
ctk start web >/dev/null || fail "start"
expect_eq "status after start" "$(ctk ps --format '{{.State}}')" "running"
pid=$(ctk ps --format '{{.Pid}}')
expect_eq "upper dir kept" "$(cat /proc/$pid/root/state)" "data"
ctk kill -s TERM web >/dev/null || fail "kill -s TERM"
expect_eq "wait" "$(ctk wait web)" "7"
ctk rm web >/dev/null || fail "rm"
no_leftovers "$id" "rm"
expect_eq "ps -a after rm" "$(ctk ps -aq)" ""

# ps -l / -n order: newest first.
a=$(ctk run -d --net none bb true); b=$(ctk run -d --net none bb true)
expect_eq "ps -l" "$(ctk ps -lq --no-trunc)" "$b"
expect_eq "ps -n 2" "$(ctk ps -n 2 -q --no-trunc | tr '\n' ' ')" "$b $a "
ctk rm -f "$a" "$b" >/dev/null

# --rm after the container's process is SIGKILLed.
id=$(ctk run -d --rm --net none bb sleep 1000) || fail "run -d --rm"
pid=$(jq -r .pid "$T/run/containers/$id/state.json")
kill -KILL "$pid"
wait_until 10 gone "$id"; no_leftovers "$id" "--rm after SIGKILL"

# ctk SIGKILLed during a foreground --rm run: the monitor still cleans up.
"$CTK_BIN" --root "$T/root" --run-root "$T/run" run --rm --name fg --net none bb sleep 2 >/dev/null &
fg=$!
running_named() { [ -n "$(ctk ps -q --filter "name=$1")" ]; }
wait_until 10 running_named fg || fail "foreground container did not start"
id=$(ctk ps -q --no-trunc --filter name=fg)
kill -KILL "$fg"; wait "$fg" 2>/dev/null
[ -d "$T/root/containers/$id" ] || fail "the container went with ctk"
wait_until 15 gone "$id"; no_leftovers "$id" "ctk killed"

# Foreground exit status and signals: SIGTERM to ctk reaches PID 1.
# ctk itself, not the shell function (a subshell would take the signal).
"$CTK_BIN" --root "$T/root" --run-root "$T/run" run --rm --name sig --net none bb sh -c 'trap "exit 9" TERM; touch /ready; while :; do sleep 0.1; done' >/dev/null &
fg=$!
trap_ready() {
    local p
    p=$(ctk ps --filter name=sig --format '{{.Pid}}')
    [ -n "$p" ] && [ -e "/proc/$p/root/ready" ]
}
wait_until 10 trap_ready || fail "signal container did not start"
kill -TERM "$fg"; wait "$fg"; rc=$?
expect_eq "SIGTERM forwarded" "$rc" 9

# -t: a terminal in the container.
if command -v script >/dev/null; then
    out=$(script -qec "$CTK_BIN --root $T/root --run-root $T/run run --rm -t --net none bb sh -c 'test -t 0 && test -t 1 && echo is-a-tty'" /dev/null </dev/null)
    expect_contains "-t: stdin and stdout are a terminal" "$out" "is-a-tty"
    # The window size of ctk's terminal reaches the container's.
    out=$(script -qec "stty cols 123 rows 45; $CTK_BIN --root $T/root --run-root $T/run run --rm -t --net none bb stty size" /dev/null </dev/null)
    expect_contains "-t window size" "$out" "45 123"
    # -ti: typed input reaches the shell, its exit status is ctk's.
    out=$(echo "echo from-the-tty; exit 5" | script -qec "$CTK_BIN --root $T/root --run-root $T/run run --rm -ti --net none bb sh" /dev/null)
    expect_contains "-ti input" "$out" "from-the-tty"
    # The pty comes from the container's own devpts: `tty` names a device
    # that exists inside, owned by the container's user (not "not a tty").
    out=$(script -qec "$CTK_BIN --root $T/root --run-root $T/run run --rm -t -u 1000 --net none bb sh -c 'p=\$(tty) && test -c \$p && stat -c \"%n %u\" \$p && grep -c . /proc/self/mountinfo >/dev/null && ls /dev/pts'" /dev/null </dev/null)
    expect_contains "-t: tty names the container's /dev/pts/0" "$out" "/dev/pts/0 1000"
    # A detached -t container's output reaches its log.
    ctk run -d -t --net none --name ttylog bb sh -c 'tty; echo tty-done' >/dev/null || fail "run -d -t"
    ttylog_done() { ctk logs ttylog 2>/dev/null | grep -q tty-done; }
    wait_until 10 ttylog_done || fail "-d -t log"
    expect_contains "-d -t: tty in the log" "$(ctk logs ttylog)" "/dev/pts/0"
    ctk rm -f ttylog >/dev/null
fi
# -i without -t: stdin is passed as is.
expect_eq "-i" "$(echo piped | ctk run -i --rm --net none bb cat)" "piped"
echo "run_lifecycle: ok"
