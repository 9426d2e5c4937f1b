#!/bin/bash
# ctk system check / prune over hand-made leftovers in a temporary --root and
# --run-root: the rootfs mount of a stopped container, its /ctk/<id> cgroups,
# the state of containers whose monitor died (one with --rm), the run dir of
# a removed container; and a live container whose mount must stay. Runs in a
# private mount namespace so the test's mounts never reach the host's.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
require_root
command -v jq >/dev/null || skip_or_fail "jq is not installed"
if [ -z "${CTK_LIFE_MNTNS:-}" ]; then
    command -v unshare >/dev/null || skip_or_fail "unshare is not installed"
    trap - EXIT
    CTK_LIFE_MNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

T=$(mktemp -d /tmp/ctk-sys.XXXXXX)
on_exit rm -rf "$T"
ROOT=$T/root RUN=$T/run
ctk() { "$CTK_BIN" --root "$ROOT" --run-root "$RUN" "$@"; }
new_id() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
IDB=$(new_id) IDC=$(new_id) IDD=$(new_id) IDE=$(new_id) IDF=$(new_id)
MINE="$IDB|$IDC|$IDD|$IDE|$IDF"

# A PID that is certainly dead, and a live one with its start time.
sleep 0 & DEAD=$!; wait "$DEAD"
sleep 300 & LIVE=$!
on_exit kill -9 "$LIVE"
LIVE_START=$(sed 's/.*) //' "/proc/$LIVE/stat" | awk '{print $20}')

record() { # ID NAME AUTO_REMOVE STATUS PID START
    mkdir -p "$ROOT/containers/$1/upper" "$RUN/containers/$1"
    jq -n --arg id "$1" --arg n "$2" --argjson rm "$3" \
        '{id: $id, name: $n, image: "none", cmd: ["sh"], auto_remove: $rm}' \
        >"$ROOT/containers/$1/config.json"
    jq -n --arg id "$1" --arg n "$2" --arg st "$4" --argjson pid "$5" --argjson start "$6" \
        '{id: $id, name: $n, status: $st, pid: $pid, pid_start: $start}' \
        >"$RUN/containers/$1/state.json"
}
record "$IDB" b false running "$DEAD" 0
record "$IDC" c true running "$DEAD" 0
record "$IDE" e false running "$LIVE" "$LIVE_START"
# F's process is gone but its monitor (the holder of monitor.lock) still
# tears it down: not a leftover while the lock is held.
record "$IDF" f false running "$DEAD" 0
command -v flock >/dev/null || skip_or_fail "flock is not installed"
# -o: only flock itself holds the lock, so killing it releases the lock.
flock -o "$RUN/containers/$IDF/monitor.lock" sleep 300 >/dev/null 2>&1 &
HOLDER=$!
release() { local c; c=$(pgrep -P "$HOLDER"); kill -9 "$HOLDER" $c 2>/dev/null; wait "$HOLDER" 2>/dev/null; }
on_exit release
for _ in $(seq 50); do
    flock -n "$RUN/containers/$IDF/monitor.lock" true || break
    sleep 0.1
done
jq -n --arg b "$IDB" --arg c "$IDC" --arg e "$IDE" '{b: $b, c: $c, e: $e}' \
    >"$ROOT/containers/names.json"
mkdir -p "$RUN/containers/$IDD"                     # run dir of a removed container
echo '{"status":"exited"}' >"$RUN/containers/$IDD/state.json"
for id in "$IDB" "$IDE"; do
    mkdir -p "$RUN/containers/$id/rootfs"
    mount -t tmpfs ctk-test "$RUN/containers/$id/rootfs" || fail "mount tmpfs"
    on_exit umount -l "$RUN/containers/$id/rootfs"
done
CG_MADE=
for c in pids memory; do
    d=/sys/fs/cgroup/$c
    [ -d "$d" ] && grep -q " $d " /proc/self/mountinfo || continue
    mkdir -p "$d/ctk/$IDB" || fail "mkdir $d/ctk/$IDB"
    on_exit rmdir "$d/ctk/$IDB"
    CG_MADE=1
done
if [ -z "$CG_MADE" ]; then
    d=/sys/fs/cgroup
    mkdir -p "$d/ctk/$IDB" || skip_or_fail "cannot create a cgroup"
    on_exit rmdir "$d/ctk/$IDB"
fi

rows() { grep -E "$MINE" | sort; }

# ---- check ----------------------------------------------------------------------------------
ctk system check --format '{{.Kind}} {{.ID}}' --no-trunc >"$T/check"
rc=$?
expect_eq "system check exit status with leftovers" "$rc" "1"
expect_eq "system check" "$(rows <"$T/check")" "$(printf '%s\n' "cgroup $IDB" "mount $IDB" \
    "state $IDB" "state $IDC" "state $IDD" | sort)"
ctk system check --format '{{.Kind}} {{.What}}' >"$T/what"
expect_contains "check says why" "$(cat "$T/what")" "is recorded as running but its process $DEAD is gone"
expect_contains "check says --rm" "$(cat "$T/what")" "--rm: to be removed"

# ---- prune ----------------------------------------------------------------------------------
ctk system prune --format '{{.Kind}} {{.ID}} {{.Action}}' --no-trunc >"$T/prune" \
    || fail "system prune: $(cat "$T/prune")"
expect_eq "system prune" "$(rows <"$T/prune")" "$(printf '%s\n' "cgroup $IDB removed" \
    "mount $IDB unmounted" "state $IDB marked exited" "state $IDC removed (--rm)" \
    "state $IDD removed" | sort)"
grep -q " $RUN/containers/$IDB/rootfs " /proc/self/mountinfo && fail "B's rootfs is still mounted"
grep -q " $RUN/containers/$IDE/rootfs " /proc/self/mountinfo || fail "the live container's mount was removed"
for c in pids memory ""; do
    [ -d "/sys/fs/cgroup/$c/ctk/$IDB" ] && fail "cgroup /sys/fs/cgroup/$c/ctk/$IDB is still there"
done
expect_eq "B is exited" "$(jq -r '.status + " " + (.exit_code|tostring)' "$RUN/containers/$IDB/state.json")" "exited 255"
expect_eq "B via inspect" "$(ctk inspect b --format '{{.State.Status}} {{.State.Pid}}')" "exited 0"
[ -e "$ROOT/containers/$IDC" ] && fail "the --rm container's record is still there"
[ -e "$RUN/containers/$IDC" ] && fail "the --rm container's run dir is still there"
expect_eq "names after prune" "$(jq -c 'keys' "$ROOT/containers/names.json")" '["b","e"]'
[ -e "$RUN/containers/$IDD" ] && fail "the removed container's run dir is still there"
expect_eq "E still running" "$(ctk inspect e --format '{{.State.Status}} {{.State.Pid}}')" "running $LIVE"

# ---- nothing left: check is clean for these containers, prune is idempotent ----------------
ctk system check --format '{{.Kind}} {{.ID}}' --no-trunc >"$T/check2"
expect_eq "check after prune" "$(rows <"$T/check2")" ""
ctk system prune --format '{{.Kind}} {{.ID}}' --no-trunc >"$T/prune2" || fail "second prune"
expect_eq "second prune" "$(rows <"$T/prune2")" ""
# Once F's monitor is gone, F is a leftover like B was.
release
ctk system check --format '{{.Kind}} {{.ID}}' --no-trunc >"$T/check3"
expect_eq "check after F's monitor died" "$(rows <"$T/check3")" "state $IDF"
echo "PASS"
