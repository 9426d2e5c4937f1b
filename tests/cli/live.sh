#!/bin/bash
# The live view of a streaming command, end to end on a pseudo-terminal
# (script(1) from bsdutils), through the test-live plugin's `top`: the screen
# shows the rows, "+" reaches the command (its next sample reports the new
# interval in the detail pane), "q" and SIGTERM quit with status 0 and the
# terminal as it was (the alternate screen left, the tty modes unchanged).
# Off a terminal, and with --no-stream or --iterations on one, the samples
# are plain tables.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"

command -v script >/dev/null || skip_or_fail "script(1) (bsdutils) is not installed"
T=$(mktemp -d /tmp/ctk-cli-live.XXXXXX) || fail "mktemp"
on_exit rm -rf "$T"
# A copy of ctk finds only the test plugin, not the build's own plugins.
mkdir -p "$T/bin"
cp "$CTK_BIN" "$T/bin/ctk" || fail "copying ctk"
export CTK_PLUGIN_PATH=$CTK_BUILD_DIR/test-plugins/live
[ -e "$CTK_PLUGIN_PATH/test-live.so" ] || fail "test-live plugin not built in $CTK_PLUGIN_PATH"
CTK="$T/bin/ctk --run-root $T/run"

SMCUP=$'\e[?1049h'
RMCUP=$'\e[?1049l'

# wait_for FILE TEXT: until FILE holds TEXT (10 s at most).
wait_for() {
    local i
    for i in $(seq 200); do
        grep -aqF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "never saw '$2' in $1: $(tr -d '\033' <"$1" | tail -c 600)"
}

# start_live NAME ARGS...: ctk ARGS on a 120x30 terminal whose keys come
# from $T/NAME.keys; the screen goes to $T/NAME.out, ctk's pid to
# $T/NAME.pid, and the tty modes before and after, and the exit status, to
# $T/NAME.result.
start_live() {
    local name=$1
    shift
    mkfifo "$T/$name.keys"
    TERM=xterm script -qfe -c "stty rows 30 cols 120; before=\$(stty -g);
        sh -c 'echo \$\$ >$T/$name.pid; exec $CTK $*'; rc=\$?;
        [ \"\$before\" = \"\$(stty -g)\" ] && same=yes || same=no;
        echo \"rc=\$rc same-modes=\$same\" >$T/$name.result" "$T/$name.out" \
        <"$T/$name.keys" >/dev/null 2>"$T/$name.err" &
    echo $! >"$T/$name.script"
    # Held open, so script sees no end of input before we are done.
    exec 7>"$T/$name.keys"
    on_exit "kill \$(cat $T/$name.pid) \$(cat $T/$name.script)"
}

# finish_live NAME: waits for script to end and checks what the user would.
finish_live() {
    local name=$1 i
    for i in $(seq 200); do
        [ -s "$T/$name.result" ] && break
        sleep 0.05
    done
    exec 7>&-
    wait "$(cat "$T/$name.script")" 2>/dev/null
    [ -s "$T/$name.result" ] || fail "$name: ctk did not end (stderr: $(cat "$T/$name.err"))"
    expect_eq "$name: exit status and tty modes" "$(cat "$T/$name.result")" "rc=0 same-modes=yes"
    local screen
    screen=$(cat "$T/$name.out")
    # The alternate screen was entered, and left after the last time it was.
    expect_contains "$name: alternate screen" "$screen" "$SMCUP"
    local after=${screen##*"$SMCUP"}
    expect_contains "$name: alternate screen left" "$after" "$RMCUP"
    kill -0 "$(cat "$T/$name.pid")" 2>/dev/null && fail "$name: ctk still runs"
    return 0
}

# 1. Rows, "+" reaching the command, the detail pane, "q".
start_live q top --interval 0.2
wait_for "$T/q.out" "box-2"
expect_contains "header" "$(cat "$T/q.out")" "MEM USAGE"
printf '+' >&7 # 0.2 s -> 0.5 s
# The detail pane of the selected row (box-0) shows INTERVAL, hidden in the
# table: what the command slept before its sample. The pane is opened anew
# until a sample taken after the change is in it, since ncurses redraws only
# the characters that changed ("200ms" -> "500ms" would write just "5").
seen=
for i in $(seq 20); do
    printf '\r' >&7
    sleep 0.3
    grep -aqF "500ms" "$T/q.out" && { seen=1; break; }
    printf '\r' >&7
    sleep 0.2
done
[ -n "$seen" ] || fail "the command never reported the interval chosen with +"
wait_for "$T/q.out" "PROCESSES:"
wait_for "$T/q.out" "sleep 600"
printf 'q' >&7
finish_live q

# 2. SIGTERM quits the same way, and the terminal is back at once even when
# the command takes its time to stop (3 s here).
start_live term top --interval 0.2 --linger 3
wait_for "$T/term.out" "box-0"
kill -TERM "$(cat "$T/term.pid")"
wait_for "$T/term.out" "$RMCUP"
kill -0 "$(cat "$T/term.pid")" 2>/dev/null || fail "term: the command stopped at once; --linger did not hold it"
finish_live term

# 3. A filter with no match, then Esc, then ^C (a key in the view, not a signal).
start_live filt top --interval 0.2
wait_for "$T/filt.out" "box-1"
printf '/zzz' >&7
wait_for "$T/filt.out" "no row matches"
printf '\033' >&7
sleep 0.3
printf '\003' >&7
finish_live filt

# 4. --no-stream on a terminal: one plain table, no full screen.
TERM=xterm script -qfe -c "stty rows 30 cols 120; $CTK top --no-stream" "$T/plain.out" \
    </dev/null >/dev/null 2>&1 || fail "top --no-stream failed"
out=$(tr -d '\r' <"$T/plain.out")
expect_contains "--no-stream" "$out" "box-2"
case "$out" in *"$SMCUP"*) fail "--no-stream took the full screen" ;; esac

# 5. Off a terminal: N plain samples, or JSON lines.
out=$($CTK top --iterations 2 --interval 0.05 </dev/null)
expect_eq "plain samples" "$(grep -c '^NAME' <<<"$out")" 2
expect_eq "rows of two samples" "$(grep -c '^box-' <<<"$out")" 6
out=$($CTK top --iterations 2 --interval 0.05 --format json </dev/null)
expect_eq "JSON lines" "$(wc -l <<<"$out")" 6
expect_contains "JSON lines hold the hidden columns" "$(head -n 1 <<<"$out")" '"Processes":[{"PID":1000'

# 6. The help says when the view shows, its keys, and which options turn it off.
out=$($CTK top --help)
expect_contains "help: the view" "$out" "Live view (stdin and stdout on a terminal"
expect_contains "help: a key" "$out" "Enter        the selected row's detail"
expect_contains "help: --no-stream" "$out" "One sample, plain (plain output, no live view)"
echo PASS
