#!/bin/bash
# ctk pidmap on real nested PID namespaces and a fake docker container:
# what a user checks against /proc by hand (NSpid chains, namespace inodes,
# host PID <-> container PID both ways), on both backends.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
require_root
command -v unshare >/dev/null || skip_or_fail "unshare (util-linux) is missing"

ctk() { "$CTK_BIN" "$@"; }
# wait_pid CMDLINE: the host PID of the process whose command line is exactly CMDLINE.
wait_pid() {
    local i p
    for i in $(seq 1 100); do
        p=$(pgrep -xf "$1" | head -1)
        [ -n "$p" ] && { echo "$p"; return; }
        sleep 0.05
    done
    fail "process '$1' did not start"
}
# chain PID: the NSpid line of /proc/PID/status as a JSON array.
chain() { awk '/^NSpid:/ { $1 = ""; sub(/^ /, ""); gsub(/[ \t]+/, ","); print "[" $0 "]" }' "/proc/$1/status"; }
pidns() { stat -L -c %i "/proc/$1/ns/pid"; }

# --- three nested PID namespaces, a sleeper in each ----------------------
base=$(( 300000 + RANDOM ))
S1=$(( base + 1 )) S2=$(( base + 2 )) S3=$(( base + 3 ))
unshare --pid --fork --kill-child=SIGKILL sh -c "sleep $S1 &
  exec unshare --pid --fork --kill-child=SIGKILL sh -c 'sleep $S2 &
    exec unshare --pid --fork --kill-child=SIGKILL sh -c \"sleep $S3 & wait\"'" &
NESTED=$!
# Killing the outer unshare kills the first namespace's init, and with it
# every process of that namespace and of the ones nested in it.
on_exit "kill -KILL $NESTED; wait $NESTED"
H1=$(wait_pid "sleep $S1") H2=$(wait_pid "sleep $S2") H3=$(wait_pid "sleep $S3")

for backend in bpf proc; do
    for h in $H1 $H2 $H3; do
        want_chain=$(chain "$h")
        last=${want_chain##*,}; last=${last%]}
        got=$(ctk pidmap --backend $backend --host-pid "$h" \
              --format '{{.PID}} {{.NSPid}} {{json .NSPidChain}} {{.PIDNamespace}} {{.Runtime}}') ||
            fail "$backend: ctk pidmap --host-pid $h failed"
        expect_eq "$backend: --host-pid $h" "$got" "$h $last $want_chain $(pidns "$h") -"
    done
    listed=$(ctk pidmap --backend $backend --format '{{.PID}} {{json .NSPidChain}} {{.Runtime}}')
    for h in $H1 $H2 $H3; do
        expect_contains "$backend: ctk pidmap lists nested sleeper $h" "$listed" "$h $(chain "$h") -"
    done
    case "$listed" in *"$$ ["*) fail "$backend: host shell $$ listed as containerised";; esac
done
expect_eq "depth of the innermost chain" "$(chain "$H3" | tr ',' '\n' | wc -l)" 4

# A host process: the record says no runtime, a warning says why, exit 0.
out=$(ctk pidmap --host-pid $$ --format '{{.PID}} {{.Runtime}} {{.Container}}' 2>/tmp/pidmap-warn.$$)
rc=$?; warn=$(cat /tmp/pidmap-warn.$$); rm -f /tmp/pidmap-warn.$$
expect_eq "--host-pid of a host process: exit status" "$rc" 0
expect_eq "--host-pid of a host process" "$out" "$$ - "
expect_contains "--host-pid of a host process: warning" "$warn" "pid $$ is not in a container"

# --- both backends agree (records of processes present in both runs) -----
bpf_json=$(ctk pidmap --backend bpf --format json) || fail "bpf backend failed"
proc_json=$(ctk pidmap --backend proc --format json) || fail "proc backend failed"
# Exiting processes (no command line left, shown as "[comm]") are left out:
# earlier tests' containers may still be dying, and the two scans see a dying
# task's cgroup at different moments of its exit.
pids_of() { grep -v '"Command":"\[' | grep -o '^{"PID":[0-9]*' | cut -d: -f2 | sort; }
common=$(comm -12 <(echo "$bpf_json" | pids_of) <(echo "$proc_json" | pids_of) | tr '\n' ' ')
[ -n "$common" ] || fail "no process common to both backends"
only_common() { awk -v keep="$common" 'BEGIN { n = split(keep, a, " "); for (i = 1; i <= n; i++) k[a[i]] = 1 }
    match($0, /^\{"PID":[0-9]+/) { p = substr($0, 8, RLENGTH - 7); if (p in k) print }'; }
diff <(echo "$bpf_json" | only_common | sort) <(echo "$proc_json" | only_common | sort) >&2 ||
    fail "bpf and proc backends disagree (diff above)"
for h in $H1 $H2 $H3; do expect_contains "common pids" " $common" " $h "; done

# The backend that ran is visible at debug level; a bad one is refused.
expect_contains "debug log, bpf" "$(ctk --log-level debug pidmap --backend bpf 2>&1 >/dev/null)" "backend bpf"
expect_contains "debug log, proc" "$(ctk --log-level debug pidmap --backend proc 2>&1 >/dev/null)" "backend proc"
ctk pidmap --backend bogus >/dev/null 2>&1 && fail "--backend bogus accepted"

# Without the right to load BPF (an unprivileged user), auto falls back to
# /proc and still maps the PID; --backend bpf refuses with the reason.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if command -v setpriv >/dev/null && as_nobody test -x "$CTK_BIN"; then
    out=$(as_nobody "$CTK_BIN" --log-level debug pidmap --host-pid "$H3" --format '{{.NSPid}}' 2>&1) ||
        fail "unprivileged ctk pidmap failed: $out"
    expect_contains "unprivileged fallback" "$out" "falling back to /proc"
    expect_eq "unprivileged --host-pid $H3" "$(echo "$out" | tail -1)" "$(chain "$H3" | tr -d ']' | awk -F, '{ print $NF }')"
    err=$(as_nobody "$CTK_BIN" pidmap --backend bpf 2>&1 >/dev/null) && fail "unprivileged --backend bpf succeeded"
    expect_contains "unprivileged --backend bpf" "$err" "cannot use the bpf backend"
fi

# --- a fake docker container: a v1 cgroup named like docker's ------------
ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
if [ -d /sys/fs/cgroup/pids ] && [ -d /sys/fs/cgroup/memory ]; then
    CGDIRS="/sys/fs/cgroup/pids/docker/$ID /sys/fs/cgroup/memory/docker/$ID"
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    CGDIRS="/sys/fs/cgroup/docker/$ID"
else
    skip_or_fail "neither cgroup v1 pids/memory nor a cgroup v2 root"
fi
for d in $CGDIRS; do
    mkdir -p "$d" || fail "cannot create cgroup $d"
    on_exit "rmdir '$d'"
done
D1=$(( base + 11 )) D2=$(( base + 12 ))
unshare --pid --fork --kill-child=SIGKILL sh -c "sleep $D1 & sleep $D2 & wait" &
FAKE=$!
# Registered after the rmdirs, so it runs before them: a cgroup with
# processes cannot be removed.
on_exit "kill -KILL $FAKE; wait $FAKE; sleep 0.2"
DP1=$(wait_pid "sleep $D1") DP2=$(wait_pid "sleep $D2")
INIT=$(awk '/^PPid:/ { print $2 }' "/proc/$DP1/status")
for d in $CGDIRS; do
    for p in $INIT $DP1 $DP2; do echo "$p" > "$d/cgroup.procs" || fail "cannot move $p into $d"; done
done

for backend in bpf proc; do
    listed=$(ctk pidmap --backend $backend --format '{{.PID}} {{.NSPid}} {{.Runtime}} {{.ID}}')
    expect_contains "$backend: fake docker init" "$listed" "$INIT 1 docker $ID"
    expect_contains "$backend: fake docker process" "$listed" "$DP1 $(chain "$DP1" | tr -d '[]' | cut -d, -f2) docker $ID"
    got=$(ctk pidmap --backend $backend --host-pid "$DP2" --format '{{.Runtime}} {{.ID}}')
    expect_eq "$backend: --host-pid of a docker process" "$got" "docker $ID"
done
# TARGET, here by one of its PIDs: all its processes, or the host PID of one.
members=$(ctk pidmap "pid://$DP1" --format '{{.PID}}' | sort -n | tr '\n' ' ')
expect_eq "ctk pidmap pid://$DP1" "$members" "$(printf '%s\n' $INIT $DP1 $DP2 | sort -n | tr '\n' ' ')"
expect_eq "ctk pidmap pid://$DP1 --ns-pid 1" "$(ctk pidmap "pid://$DP1" --ns-pid 1 --format '{{.PID}}')" "$INIT"
nsp2=$(chain "$DP2" | tr -d '[]' | cut -d, -f2)
expect_eq "ctk pidmap $DP1 --ns-pid $nsp2" "$(ctk pidmap "$DP1" --ns-pid "$nsp2" --format '{{.PID}}')" "$DP2"

# --- bad input: one line naming the culprit, non-zero exit ---------------
err=$(ctk pidmap "pid://$DP1" --ns-pid 777 2>&1 >/dev/null) && fail "--ns-pid 777 succeeded"
expect_contains "ns-pid not in the container" "$err" "pid 777 is not in container"
err=$(ctk pidmap --host-pid 999999999 2>&1 >/dev/null) && fail "--host-pid of a missing pid succeeded"
expect_contains "missing host pid" "$err" "pid 999999999 does not exist"
err=$(ctk pidmap no-such-container-$base 2>&1 >/dev/null) && fail "missing target succeeded"
expect_contains "missing target" "$err" "no-such-container-$base"
err=$(ctk pidmap --ns-pid 1 2>&1 >/dev/null) && fail "--ns-pid without TARGET succeeded"
expect_contains "--ns-pid without TARGET" "$err" "--ns-pid needs a TARGET"
echo "pidmap namespaces: ok"
