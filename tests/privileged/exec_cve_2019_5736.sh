#!/bin/bash
# CVE-2019-5736 came in through `docker exec`: a process in the container
# opened /proc/PID/exe of the runtime process that was joining it (runc's
# binary on the host) and, once that process had exec'd, reopened it for
# writing and replaced the host's binary. Here a root process inside a ctk
# container polls every /proc/*/exe while `ctk exec` runs again and again:
# it must never get a descriptor of ctk's binary, and never open any
# process's executable for writing (the sealed ctk-exec memfd excepted: its
# seals refuse every write, which the poller checks too).
# A control run first proves the poller catches a host binary: util-linux
# nsenter into the same pid namespace without the mount namespace.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/ctk-store.sh"

ctk_store exec-cve
ctk_store_busybox

mkdir -p "$T/out"
# The poller: for every process but itself, open /proc/N/exe for reading
# (what the attack keeps), note what it names, try to reopen that fd for
# writing (the breach, except on the sealed helper: there a one-byte write
# must fail).
cat >"$T/poll.sh" <<'SH'
me=$$
while [ ! -e /out/stop ]; do
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        [ "$p" = "$me" ] && continue
        command exec 4<"$d/exe" 2>/dev/null || continue
        l=$(readlink /proc/$me/fd/4 2>/dev/null)
        case "$l" in /bin/busybox|/bin/sh|/out/*|"") ;; *) echo "R $p $l" >>/out/hits ;; esac
        # Opening for writing is the breach, except on the sealed helper,
        # whose seals must then refuse a real one-byte write.
        if (command exec 5>>/proc/$me/fd/4) 2>/dev/null; then
            case "$l" in
            */memfd:ctk-exec*) (printf x >>/proc/$me/fd/4) 2>/dev/null && echo "W $p $l" >>/out/hits ;;
            *) echo "w $p $l" >>/out/hits ;;
            esac
        fi
        exec 4<&-
    done
    echo x >>/out/rounds
done
SH
ctk run -d --net none --name victim -v "$T/out:/out" -v "$T/poll.sh:/poll.sh:ro" bb sh /poll.sh >/dev/null ||
    fail "ctk run the poller"
PID=$(ctk inspect --format '{{.State.Pid}}' victim)
for i in $(seq 100); do [ -s "$T/out/rounds" ] && break; sleep 0.05; done
[ -s "$T/out/rounds" ] || fail "the poller does not run"

# Control: a host binary (util-linux nsenter's own /bin/sh, no mount
# namespace) in the container's pid namespace, with no more capabilities
# than the container (as runc's process had), is seen. (A process with
# more capabilities than the poller is out of its reach anyway: ptrace
# access needs the target's permitted set within the caller's.)
command -v setpriv >/dev/null || skip_or_fail "setpriv (util-linux) is missing"
for i in $(seq 30); do
    nsenter -t "$PID" -p setpriv --bounding-set -all --inh-caps -all /bin/sh -c 'sleep 0.2' ||
        fail "control nsenter"
    grep -q '^R ' "$T/out/hits" 2>/dev/null && break
done
grep -q '^R ' "$T/out/hits" 2>/dev/null ||
    fail "control: the poller never saw a host binary; the test could not detect the attack"
echo "control: the poller sees host binaries: $(grep '^R ' "$T/out/hits" | head -1)"
: >"$T/out/hits"

# The real thing: many ctk exec runs, each a window for the poller.
start=$(wc -l <"$T/out/rounds")
for i in $(seq 150); do
    ctk exec victim true || fail "ctk exec run $i failed"
    ctk exec -u 1000 victim true || fail "ctk exec -u run $i failed"
done
rounds=$(( $(wc -l <"$T/out/rounds") - start ))
touch "$T/out/stop"
echo "poller: $rounds rounds over /proc during 300 ctk exec runs"
[ "$rounds" -gt 10 ] || fail "the poller made only $rounds rounds"
real=$(readlink -f "$CTK_BIN")
if [ -s "$T/out/hits" ]; then
    echo "what the poller opened:"; sort "$T/out/hits" | uniq -c | head -20
fi
grep -q '^W ' "$T/out/hits" 2>/dev/null && fail "the sealed helper took a write: $(grep '^W ' "$T/out/hits" | head -3)"
grep -q '^w ' "$T/out/hits" 2>/dev/null &&
    fail "an executable was opened for writing: $(grep '^w ' "$T/out/hits" | head -3)"
grep -Fq "$real" "$T/out/hits" 2>/dev/null && fail "the poller got a descriptor of ctk's binary $real"
grep -q '^R' "$T/out/hits" 2>/dev/null && grep -v 'memfd:ctk-exec' "$T/out/hits" | grep -q '^R' &&
    fail "the poller got a descriptor of a host executable: $(grep -v 'memfd:ctk-exec' "$T/out/hits" | head -3)"
echo "PASS"
