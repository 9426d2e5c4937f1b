#!/bin/bash
# ctk run's command line without running anything: docker's flag names and
# short forms are declared, options end at IMAGE, malformed values are
# refused with a one-line error and docker's status 125.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
T=$(mktemp -d /tmp/ctk-run-usage.XXXXXX)
on_exit "rm -rf $T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }

help=$(ctk help run) || fail "ctk help run"
for f in "-t, --tty" "-i, --interactive" "-d, --detach" "--rm" "-e, --env" "--env-file" "-w, --workdir" \
    "-u, --user" "-h, --hostname" "-v, --volume" "--tmpfs" "-p, --publish" "--net" "--network" "--pid" \
    "--ipc" "--uts" "--privileged" "--cap-add" "--cap-drop" "--read-only" "--init" "-m, --memory" \
    "--cpus" "--pids-limit" "--entrypoint" "--security-opt" "--label"; do
    expect_contains "help run lists $f" "$help" "$f"
done
for c in ps start stop kill rm wait; do ctk help "$c" >/dev/null || fail "ctk help $c"; done

ctk run 2>"$T/err"; rc=$?
[ "$rc" != 0 ] || fail "run without IMAGE succeeded"
ctk run nosuchimage true 2>"$T/err"; rc=$?
expect_eq "unknown image status" "$rc" 125
expect_contains "unknown image message" "$(cat "$T/err")" "nosuchimage"
# Nothing is left of a run that failed before starting.
[ -z "$(ls "$T/root/containers" 2>/dev/null | grep -v names)" ] || fail "a failed run left a container"
expect_eq "ps on an empty root" "$(ctk ps -aq)" ""
ctk stop nosuch 2>"$T/err" && fail "stop of an unknown container succeeded"
expect_contains "stop unknown" "$(cat "$T/err")" "no such ctk container: nosuch"
echo "run_usage: ok"
