#!/bin/bash
# The README's first command, past its install and build: scripts/quickstart.sh
# with CTK set builds the busybox image from busybox-static, loads it, runs
# a container, shows it with ps and pidmap and removes it. Also: pidmap
# names ctk's own containers with runtime "ctk", and the lifecycle commands
# refuse another runtime's target with a clear message and resolve ctk names
# (ctk://NAME, pid://N) through the one resolver.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"

T=$(mktemp -d /tmp/ctk-quickstart-test.XXXXXX)
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
cleanup() {
    local id
    for id in $(ctk ps -aq --no-trunc 2>/dev/null); do ctk rm -f "$id"; done
    rm -rf "$T"
}
on_exit cleanup

out=$(CTK="$CTK_BIN" CTK_FLAGS="--root $T/root --run-root $T/run" \
    "$CTK_SOURCE_DIR/scripts/quickstart.sh" 2>&1) || fail "quickstart.sh failed: $out"
expect_contains "quickstart loads the image" "$out" "busybox:latest"
# ps shows the running container by name, pidmap its sleep with runtime ctk.
echo "$out" | sed -n '/^\$ ctk ps$/,/^\$ ctk pidmap/p' | grep -q 'quickstart' ||
    fail "ctk ps in the quickstart does not show the container: $out"
echo "$out" | sed -n '/^\$ ctk pidmap quickstart$/,/^\$ ctk rm/p' | grep -E 'sleep' | grep -q 'ctk' ||
    fail "ctk pidmap quickstart does not show its sleep under runtime ctk: $out"
expect_eq "the quickstart removes its container" "$(ctk ps -aq)" ""

# pidmap over the whole host lists a detached ctk container as runtime ctk.
ctk run -d --net none --name pm busybox sleep 60 >/dev/null || fail "run -d"
pm=$(ctk pidmap --format '{{.Runtime}} {{.Container}}') || fail "pidmap"
echo "$pm" | grep -qx 'ctk pm' || fail "pidmap does not list 'ctk pm': $pm"

# Another runtime's target: refused by name, no daemon needed.
if msg=$(ctk stop docker://pm 2>&1); then fail "stop docker://pm succeeded"; fi
expect_contains "stop docker://" "$msg" "docker://pm is a docker container: ctk acts only on its own containers"
ctk ps -q | grep -q . || fail "the refused stop stopped something"
# ctk://NAME and a pid:// target of the container both resolve to it.
pid=$(ctk inspect --format '{{.State.Pid}}' ctk://pm) || fail "inspect ctk://pm"
[ "$pid" -gt 0 ] || fail "inspect ctk://pm: pid '$pid'"
msg=$(ctk port "pid://$pid" 2>&1) || fail "port pid://$pid: $msg"

# An unknown name is named (ambiguity: tests/unit/resolve_ctk_test.cc).
ctk run -d --net none --name pm2 busybox sleep 60 >/dev/null || fail "run -d pm2"
if msg=$(ctk rm -f nosuch 2>&1); then fail "rm nosuch succeeded"; fi
expect_contains "not found names the target" "$msg" "nosuch"
ctk stop -t 1 pm pm2 >/dev/null || fail "stop pm pm2"
ctk rm pm pm2 >/dev/null || fail "rm pm pm2"
expect_eq "nothing left" "$(ctk ps -aq)" ""
echo PASS
