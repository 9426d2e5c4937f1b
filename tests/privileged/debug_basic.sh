#!/bin/bash
# ctk debug against a ctk container whose image has no shell: the target's
# root at /target (read-write, and --read-only), its pid, net and ipc
# namespaces (--share), the image-only form, the default toolbox image built
# from busybox-static, the record a kept debug container leaves (ps -a,
# inspect's labels), teardown (--rm leaves nothing, the target runs on), and
# bad input. Every container runs with --net none or joins the target's
# namespace: nothing touches the host's network.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/ctk-store.sh"

ctk_store debug
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@" </dev/null; }

# The target's image: busybox under a name no applet has, no /bin/sh, and a
# file only this image has.
mkdir -p "$T/noshell/pause" "$T/noshell/etc"
cp "$CTK_BUSYBOX_BIN" "$T/noshell/pause/busybox-static"
echo "only-in-target-$$" >"$T/noshell/marker.txt"
tar -C "$T/noshell" -cf "$T/noshell.tar" . || fail "cannot build the noshell rootfs"
ctk import "$T/noshell.tar" noshell:latest >/dev/null || fail "ctk import noshell"
ctk run --rm --net none noshell sh -c true 2>/dev/null && fail "the target image has a shell"

TID=$(ctk run -d --net none --name tgt noshell /pause/busybox-static sleep 100000) || fail "ctk run -d tgt"
TPID=$(ctk inspect --format '{{.State.Pid}}' tgt)
[[ $TPID =~ ^[1-9][0-9]*$ ]] || fail "target pid '$TPID'"

# The default image is built on first use, from the host's busybox.
out=$(ctk debug --rm tgt cat /target/marker.txt) || fail "debug cat /target/marker.txt: $out"
expect_eq "/target shows the target's image" "$out" "only-in-target-$$"
expect_contains "default image in ctk images" "$(ctk images --format '{{.Repository}}:{{.Tag}}')" \
    "ctk-debug:busybox"
expect_eq "the toolbox has applet links" "$(ctk debug --rm tgt readlink /bin/sh)" "/bin/busybox"

# The shared pid namespace: the target's processes show in ps, its init is PID 1.
out=$(ctk debug --rm tgt ps -o pid,args)
expect_contains "target's sleep in ps" "$out" "/pause/busybox-static sleep 100000"
expect_eq "PID 1 is the target's" "$(ctk debug --rm tgt cat /proc/1/cmdline | tr '\0' ' ')" \
    "/pause/busybox-static sleep 100000 "
# Namespaces, compared with the target's own (what --share says, no more).
ns_in() { ctk debug --rm "$@" sh -c 'for n in pid net ipc; do readlink /proc/self/ns/$n; done' | tr '\n' ' '; }
expect_eq "default --share" "$(ns_in tgt)" \
    "$(readlink /proc/$TPID/ns/pid /proc/$TPID/ns/net /proc/$TPID/ns/ipc | tr '\n' ' ')"
read -r p n i <<<"$(ns_in --share pid tgt)"
expect_eq "--share pid: pid" "$p" "$(readlink /proc/$TPID/ns/pid)"
[ "$n" != "$(readlink /proc/$TPID/ns/net)" ] || fail "--share pid joined the net namespace"
[ "$i" != "$(readlink /proc/$TPID/ns/ipc)" ] || fail "--share pid joined the ipc namespace"
read -r p n i <<<"$(ns_in --share net,ipc tgt)"
[ "$p" != "$(readlink /proc/$TPID/ns/pid)" ] || fail "--share net,ipc joined the pid namespace"
expect_eq "--share net,ipc: net" "$n" "$(readlink /proc/$TPID/ns/net)"
expect_eq "--share net,ipc: ipc" "$i" "$(readlink /proc/$TPID/ns/ipc)"
expect_eq "--share none: /target still there" \
    "$(ctk debug --rm --share none tgt cat /target/marker.txt)" "only-in-target-$$"

# /target is the target's live root: a write lands in the target; with
# --read-only it fails and the target's own root stays writable.
ctk debug --rm tgt sh -c 'echo from-debug > /target/written' || fail "write to /target failed"
expect_eq "write reached the target" "$(cat /proc/$TPID/root/written)" "from-debug"
out=$(ctk debug --rm --read-only tgt sh -c 'echo x > /target/ro-write' 2>&1) &&
    fail "--read-only: writing /target succeeded"
expect_contains "--read-only error" "$out" "Read-only file system"
[ ! -e /proc/$TPID/root/ro-write ] || fail "--read-only: the file reached the target"
expect_eq "--read-only: /target's mount flags" \
    "$(ctk debug --rm --read-only tgt sh -c 'grep " /target " /proc/mounts | cut -d" " -f4 | cut -d, -f1')" "ro"
ctk debug --rm tgt sh -c 'echo again > /target/written' ||
    fail "after --read-only, the target's root must stay writable"

# A host process no container owns, by PID: its own PID namespace (unshare),
# and the host's root at /target, read-only here.
# --kill-child: the sleep (init of its PID namespace, deaf to SIGTERM) dies
# with unshare; no descriptor of the test's output stays open in it.
unshare --pid --fork --kill-child --mount-proc sleep 100002 </dev/null >/dev/null 2>&1 &
UPID=$!
disown # no "Killed" notice when it is killed below
on_exit "kill -9 $UPID"
for _ in $(seq 100); do
    HPID=$(cat /proc/$UPID/task/$UPID/children 2>/dev/null | tr -d ' ')
    [ -n "$HPID" ] && break
    sleep 0.05
done
[[ $HPID =~ ^[1-9][0-9]*$ ]] || fail "no sleep under unshare"
expect_eq "pid://N: its PID 1" \
    "$(ctk debug --rm --share pid --read-only pid://$HPID cat /proc/1/cmdline | tr '\0' ' ')" "sleep 100002 "
expect_eq "pid://N: the host's root" \
    "$(ctk debug --rm --share pid --read-only pid://$HPID cat /target/etc/debian_version)" \
    "$(cat /etc/debian_version)"
bad_status=$(ctk debug --rm --share pid pid://999999999 true 2>&1; echo "rc=$?")
expect_contains "pid://N of no process" "$bad_status" "no process 999999999"
kill -9 $UPID

# Exit status of the command, and stdin when it is not a terminal.
ctk debug --rm tgt sh -c 'exit 7'; expect_eq "exit status" "$?" 7
expect_eq "stdin" "$(echo piped | "$CTK_BIN" --root "$T/root" --run-root "$T/run" debug --rm tgt cat)" "piped"

# Image-only form: the image's layers at /target, beside a toolbox.
ctk_busybox_docker_archive "$T/bb.tar" bb:latest || fail "cannot build the busybox archive"
ctk load -i "$T/bb.tar" >/dev/null || fail "ctk load bb"
expect_eq "image form: /target" "$(ctk debug --rm --image bb noshell cat /target/marker.txt)" \
    "only-in-target-$$"
expect_eq "image form: the debug image's tools" "$(ctk debug --rm --image bb noshell ls /target/pause)" "busybox-static"
ctk debug --rm --image bb noshell sh -c 'echo w > /target/new && cat /target/new' >/dev/null ||
    fail "image form: /target must take writes (a throwaway upper dir)"
ctk debug --rm --read-only noshell sh -c 'echo w > /target/new' 2>/dev/null &&
    fail "image form --read-only: writing /target succeeded"
# The writes went to the debug container's upper dir, never into the image's layers.
ctk run --rm --net none --entrypoint /pause/busybox-static noshell test -e /new && fail "a write reached the image"

# A kept debug container: listed, and inspect names its target.
ctk debug --name dbg tgt true || fail "debug --name dbg"
expect_contains "ps -a lists it" "$(ctk ps -a --format '{{.Names}}')" "dbg"
expect_eq "inspect: target label" "$(ctk inspect --format '{{index .Config.Labels "ctk.debug.target"}}' dbg)" "tgt"
expect_eq "inspect: target id" "$(ctk inspect --format '{{index .Config.Labels "ctk.debug.target-id"}}' dbg)" \
    "ctk://$TID"
expect_eq "inspect: pid mode" "$(ctk inspect --format '{{.HostConfig.PidMode}}' dbg)" "container:ctk://$TID"
# Started again it mounts /target afresh from the same process.
expect_eq "start -a of a kept debug container" "$(ctk start -a dbg; echo "rc=$?")" "rc=0"

# Bad input: one line naming the thing and the cause, status 125, nothing left.
bad() {
    local what=$1 want=$2 out rc
    shift 2
    out=$(ctk debug --rm "$@" 2>&1); rc=$?
    expect_eq "$what: status" "$rc" 125
    expect_contains "$what: message" "$out" "$want"
    expect_eq "$what: one line" "$(wc -l <<<"$out")" 1
}
bad "unknown target" "no container or image nosuchtarget" nosuchtarget true
bad "unknown image" "nosuchimage" --image nosuchimage tgt true
bad "bad --share" 'invalid --share "pid,uts": "uts" is not pid, net or ipc' --share pid,uts tgt true
ctk run --net none --name stopped noshell /pause/busybox-static true || fail "run stopped"
bad "stopped target" "container stopped is not running" stopped true
ctk rm stopped >/dev/null || fail "rm stopped"

# Teardown: every --rm debug container is gone without a trace, and the
# target runs on with the same process.
expect_eq "containers left" "$(ctk ps -a --format '{{.Names}}' | sort | tr '\n' ' ')" "dbg tgt "
out=$(ctk system check 2>&1) || fail "system check found leftovers: $out"
expect_eq "target still running" "$(ctk inspect --format '{{.State.Status}} {{.State.Pid}}' tgt)" \
    "running $TPID"
kill -0 "$TPID" || fail "the target's process died"

# Once the target is gone, the kept debug container cannot mount it: a clear
# error, and nothing left running.
ctk rm -f tgt >/dev/null || fail "rm -f tgt"
out=$(ctk start -a dbg 2>&1); rc=$?
expect_eq "start without its target: status" "$rc" 125
expect_contains "start without its target: message" "$out" "cannot mount tgt at /target: its process $TPID is gone"
expect_eq "start without its target: state" "$(ctk inspect --format '{{.State.Status}}' dbg)" "exited"
out=$(ctk system check 2>&1) || fail "system check found leftovers after the failed start: $out"
echo "PASS"
