#!/bin/bash
# ctk exec's and ctk nsenter's command lines, mapped to what they do, without
# root: docker exec's flags, util-linux nsenter's flags in its --help order
# (compared with the installed nsenter's when there is one), optional
# namespace files in every spelling, options ending at TARGET, and one-line
# errors with docker's (125) or nsenter's (1) status.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
T=$(mktemp -d /tmp/ctk-exec-usage.XXXXXX)
on_exit "rm -rf $T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }

help=$(ctk help exec) || fail "ctk help exec"
for f in "-d, --detach" "-e, --env" "--env-file" "-i, --interactive" "--privileged" "-t, --tty" \
    "-u, --user" "-w, --workdir" "--keep-host-fs"; do
    expect_contains "help exec lists $f" "$help" "$f"
done
help=$(ctk help nsenter) || fail "ctk help nsenter"
order=$(grep -oE -- '^ +(-[a-zA-Z], )?--[a-z-]+' <<<"$help" | sed 's/^ *//' | grep -v -- '--help')
want="-a, --all
-t, --target
-m, --mount
-u, --uts
-i, --ipc
-n, --net
-p, --pid
-C, --cgroup
-U, --user
-T, --time
-S, --setuid
-G, --setgid
--preserve-credentials
-r, --root
-w, --wd
-W, --wdns
-e, --env
-F, --no-fork
-c, --join-cgroup"
expect_eq "nsenter's options in util-linux's order" "$order" "$want"
if command -v nsenter >/dev/null; then
    # Every option the installed nsenter has (and ctk implements) is spelled the same.
    theirs=$(nsenter --help | grep -oE -- '^ +(-[a-zA-Z], )?--[a-z-]+' | sed 's/^ *//')
    while read -r o; do
        case "$o" in *--help|*--version|*--follow-context|*--net-socket|*--user-parent|*--keep-caps) continue ;; esac
        grep -qxF -- "$o" <<<"$want" || fail "util-linux nsenter's $o is missing or spelled differently"
    done <<<"$theirs"
    expect_contains "optional values as util-linux writes them" "$help" "--net[=FILE]"
fi

# Errors, before anything is entered.
one_line() { # WHAT STATUS NEEDLE CMD...
    local what=$1 want=$2 needle=$3 out rc=0
    shift 3
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" = "$want" ] || fail "$what: status $rc, expected $want ($out)"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "$what: want one line, got: $out"
    expect_contains "$what" "$out" "$needle"
}
out=$(ctk exec 1 2>&1); rc=$?
expect_eq "exec without a command: usage status" "$rc" 125
expect_contains "exec without a command" "$out" "missing argument COMMAND"
one_line "exec of a PID that does not exist" 125 "no such process: 999999999" ctk exec 999999999 true
one_line "exec of pid://0" 125 "invalid PID" ctk exec pid://0 true
one_line "nsenter without a namespace" 1 "no namespace specified" ctk nsenter true
one_line "nsenter -a without a target" 1 "no target PID specified" ctk nsenter -a
one_line "--net=FILE that does not exist" 1 "$T/nonet" ctk nsenter --net="$T/nonet" true
one_line "-nFILE that does not exist" 1 "$T/nonet" ctk nsenter -n"$T/nonet" true
one_line "-n=FILE that does not exist" 1 "$T/nonet" ctk nsenter -n="$T/nonet" true
one_line "-S that is not a number" 1 "setuid" ctk nsenter -S abc -t 1 -n true
one_line "--env-file that does not exist" 125 "$T/noenv" ctk exec --env-file "$T/noenv" "$$" true
printf 'BAD KEY=1\n' >"$T/bad.env"
one_line "--env-file with a bad line" 125 "line 1" ctk exec --env-file "$T/bad.env" "$$" true
# Options end at TARGET: "-u" after it belongs to the command.
one_line "options end at TARGET" 1 "no namespace specified" ctk nsenter 1 -u true
echo "exec_usage: ok"
