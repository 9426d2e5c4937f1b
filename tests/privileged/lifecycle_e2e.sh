#!/bin/bash
# The lifecycle commands on a container `ctk run` made: inspect's PID is
# the process top shows as the container's PID 1, logs splits the streams,
# diff lists what the command changed (and not the runtime's mount points),
# commit of the stopped container gives an image whose new CMD runs and
# whose deletion holds, and system check finds nothing of it after rm.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
require_root
ctk_busybox_available || skip_or_fail "busybox-static is not installed"

T=$(mktemp -d /tmp/ctk-life-e2e.XXXXXX)
on_exit rm -rf "$T"
ROOT=$T/root RUN=$T/run
ctk() { "$CTK_BIN" --root "$ROOT" --run-root "$RUN" "$@"; }
ctk_busybox_tarball "$T/busybox.tar" || fail "busybox tarball"
ctk import "$T/busybox.tar" busybox:latest >/dev/null || fail "import"

ID=$(ctk run -d --name w --net none busybox \
     sh -c 'echo out; echo err >&2; echo data >/newfile; rm /etc/group; exec sleep 60') \
    || fail "run -d: $ID"
on_exit "$CTK_BIN" --root "$ROOT" --run-root "$RUN" rm -f w
for _ in $(seq 50); do
    [ "$(ctk logs w 2>/dev/null)" = out ] && [ -n "$(ctk diff w --format '{{.Path}}' | grep newfile)" ] && break
    sleep 0.1
done

PID=$(ctk inspect w --format '{{.State.Pid}}')
expect_eq "inspect .Id" "$(ctk inspect w --format '{{.Id}}')" "$ID"
expect_eq "inspect .State.Status" "$(ctk inspect w --format '{{.State.Status}}')" "running"
[ -d "/proc/$PID" ] || fail "inspect's PID $PID is not a process"
expect_contains "top" "$(ctk top w --format '{{.PID}} {{.ContainerPID}} {{.Command}}')" "$PID 1 sleep 60"
expect_eq "logs stdout" "$(ctk logs w 2>/dev/null)" "out"
expect_eq "logs stderr" "$(ctk logs w 2>&1 >/dev/null)" "err"
out=$(ctk diff w --format '{{.Change}} {{.Path}}')
expect_eq "diff" "$out" $'C /etc\nD /etc/group\nA /newfile'

ctk stop -t 1 w >/dev/null || fail "stop"
expect_eq "stopped" "$(ctk inspect w --format '{{.State.Status}} {{.State.Pid}}')" "exited 0"
expect_eq "diff of the stopped container" "$(ctk diff w --format '{{.Change}} {{.Path}}')" "$out"
ctk commit -m snap -c 'CMD ["cat", "/newfile"]' w snap:1 >/dev/null || fail "commit"
expect_eq "the committed CMD" "$(ctk run --rm --net none snap:1)" "data"
if ctk run --rm --net none snap:1 ls /etc/group >/dev/null 2>&1; then
    fail "/etc/group deleted in the container exists in the committed image"
fi
expect_eq "history" "$(ctk history snap:1 --format '{{.Comment}}' | head -1)" "snap"

ctk rm w >/dev/null || fail "rm"
out=$(ctk system check --format '{{.Kind}} {{.ID}}' --no-trunc | grep "$ID")
expect_eq "system check after rm" "$out" ""
echo "PASS"
