#!/bin/bash
# docker commit's --pause: a running container is frozen (cgroup v2
# cgroup.freeze) while its upper directory is read, and thawed afterwards;
# --pause=false leaves it running throughout. The container writes 64 MiB
# of random data first, so the commit takes long enough to be watched.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
require_root
ctk_busybox_available || skip_or_fail "busybox-static is not installed"

T=$(mktemp -d /tmp/ctk-commit-pause.XXXXXX)
on_exit rm -rf "$T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
ctk_busybox_tarball "$T/busybox.tar" || fail "busybox tarball"
ctk import "$T/busybox.tar" busybox:latest >/dev/null || fail "import"

id=$(ctk run -d --name p --net none busybox \
     sh -c 'dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null; echo ready >/ready; exec sleep 300') ||
    fail "run -d"
on_exit "$CTK_BIN" --root "$T/root" --run-root "$T/run" rm -f p
ready() { ctk diff p --format '{{.Path}}' | grep -qx /ready; }
wait_until 30 ready || fail "the container did not write its data"
events=$(ls -d /sys/fs/cgroup/unified/ctk/"$id" /sys/fs/cgroup/ctk/"$id" 2>/dev/null | head -1)/cgroup.events
[ -f "$events" ] || skip_or_fail "no cgroup v2 freezer for the container ($events)"

# watch FILE: every state cgroup.events shows until the commit ends.
watch_commit() {
    local out=$1; shift
    : >"$out"
    ctk commit "$@" p >/dev/null 2>"$T/commit.err" &
    local c=$!
    while kill -0 $c 2>/dev/null; do grep frozen "$events" >>"$out"; done
    wait $c || fail "commit $*: $(cat "$T/commit.err")"
}
watch_commit "$T/paused"
grep -qx "frozen 1" "$T/paused" || fail "commit did not freeze the running container"
expect_eq "thawed after the commit" "$(grep frozen "$events")" "frozen 0"
expect_eq "still running" "$(ctk inspect -f '{{.State.Status}}' p)" "running"
watch_commit "$T/unpaused" --pause=false
grep -qx "frozen 1" "$T/unpaused" && fail "--pause=false froze the container"
rc=0
ctk commit --pause=maybe p >/dev/null 2>"$T/bad.err" || rc=$?
expect_eq "bad --pause value: status" "$rc" "125"
expect_contains "bad --pause value: message" "$(cat "$T/bad.err")" 'invalid --pause "maybe"'
echo "lifecycle_commit_pause: ok"
