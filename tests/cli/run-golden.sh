#!/bin/bash
# Runs one golden test file: tests/cli/NAME.test (bpftrace's RUN/EXPECT style).
#
#   tests/cli/run-golden.sh tests/cli/parsing.test     # CTK_BUILD_DIR must be set
#
#   # comment
#   NAME what the case checks           starts a case
#   PLUGINS good dup                     test plugin dirs for CTK_PLUGIN_PATH (default: good)
#   ENV KEY=VALUE                        extra environment (repeatable)
#   RUN ctk echo-args -a IMG ls -l       a bash command line
#   STATUS 3                             expected exit status of RUN (default 0)
#   EXPECT                               expected stdout, exactly, up to END
#   ...
#   END
#   EXPECT_STDERR                        expected stderr (not checked when absent)
#   ...
#   END
#
# `ctk` in RUN is the built binary, copied into a scratch dir so that only the
# test plugins are found (not the build's lib/ctk/plugins). RUN runs in $TMP,
# a scratch dir fresh per case that also holds the run root ($TMP/run, so the
# plugin index starts empty), and sees $PLUGINS (the build's test-plugins
# dir) and $CTK (the wrapper). In outputs, those paths and the build dir read
# as $TMP, $PLUGINS and $BUILD.
set -u
# Without an argument (ctest also picks this script up as a cli/*.sh test),
# every .test file beside it is run.
if [ $# -eq 0 ]; then
    status=0
    for t in "$(dirname "$0")"/*.test; do bash "$0" "$t" || status=1; done
    exit $status
fi
file=$1
: "${CTK_BUILD_DIR:?CTK_BUILD_DIR must name the build directory}"
CTK_BIN=${CTK_BIN:-$CTK_BUILD_DIR/bin/ctk}
PLUGINS=$CTK_BUILD_DIR/test-plugins
[ -x "$CTK_BIN" ] || { echo "FAIL: no ctk binary at $CTK_BIN" >&2; exit 1; }
[ -d "$PLUGINS/good" ] || { echo "FAIL: test plugins not built in $PLUGINS" >&2; exit 1; }

WORK=$(mktemp -d /tmp/ctk-golden.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/libexec"
cp "$CTK_BIN" "$WORK/libexec/ctk"
cat >"$WORK/bin/ctk" <<WRAP
#!/bin/sh
case "\$1" in --run-root*) exec "$WORK/libexec/ctk" "\$@" ;; esac
exec "$WORK/libexec/ctk" --run-root "\${TMP:?}/run" "\$@"
WRAP
chmod 755 "$WORK/bin/ctk"

failures=0
cases=0

normalise() {
    sed -e "s#$1#\$TMP#g" -e "s#$PLUGINS#\$PLUGINS#g" -e "s#$CTK_BUILD_DIR#\$BUILD#g"
}

run_case() {
    [ -n "$name" ] || return 0
    cases=$((cases + 1))
    local tmp path="" d out err status
    tmp=$(mktemp -d "$WORK/case.XXXXXX")
    for d in ${plugins:-good}; do path="$path${path:+:}$PLUGINS/$d"; done
    out=$(cd "$tmp" && env PATH="$WORK/bin:$PATH" CTK_PLUGIN_PATH="$path" TMP="$tmp" \
        PLUGINS="$PLUGINS" CTK="$WORK/bin/ctk" "${envs[@]}" \
        bash -c "$run" 2>"$tmp.stderr"; echo "status=$?")
    status=${out##*status=}
    out=${out%status=*}
    out=$(printf '%s' "$out" | normalise "$tmp")
    err=$(normalise "$tmp" <"$tmp.stderr")
    local report=""
    if [ "$status" != "${want_status:-0}" ]; then
        report+="  exit status $status, expected ${want_status:-0}"$'\n'
    fi
    if [ "$out" != "$want_out" ]; then
        report+="  stdout differs (-expected +actual):"$'\n'
        report+=$(diff <(printf '%s\n' "$want_out") <(printf '%s\n' "$out") | sed 's/^/    /')$'\n'
    fi
    if [ "$check_err" = 1 ] && [ "$err" != "$want_err" ]; then
        report+="  stderr differs (-expected +actual):"$'\n'
        report+=$(diff <(printf '%s\n' "$want_err") <(printf '%s\n' "$err") | sed 's/^/    /')$'\n'
    fi
    if [ -z "$report" ]; then
        echo "ok   $name"
    else
        echo "FAIL $name   ($file)"
        echo "  RUN $run"
        printf '%s' "$report"
        failures=$((failures + 1))
    fi
}

name="" plugins="" run="" want_status="" want_out="" want_err="" check_err=0 envs=()
block="" text="" nlines=0
while IFS= read -r line || [ -n "$line" ]; do
    if [ -n "$block" ]; then
        if [ "$line" = "END" ]; then
            if [ "$block" = out ]; then want_out=$text; else want_err=$text; check_err=1; fi
            block=""
        else
            if [ "$nlines" = 0 ]; then text=$line; else text="$text"$'\n'"$line"; fi
            nlines=$((nlines + 1))
        fi
        continue
    fi
    case "$line" in
    "#"* | "") ;;
    "NAME "*)
        run_case
        name=${line#NAME } plugins="" run="" want_status="" want_out="" want_err="" check_err=0 envs=()
        ;;
    "PLUGINS "*) plugins=${line#PLUGINS } ;;
    "ENV "*) envs+=("${line#ENV }") ;;
    "RUN "*) run=${line#RUN } ;;
    "STATUS "*) want_status=${line#STATUS } ;;
    "EXPECT") block=out text="" nlines=0 ;;
    "EXPECT_STDERR") block=err text="" nlines=0 ;;
    *) echo "FAIL: $file: cannot parse line: $line" >&2; exit 1 ;;
    esac
done <"$file"
[ -z "$block" ] || { echo "FAIL: $file: block without END" >&2; exit 1; }
run_case

echo "$((cases - failures))/$cases cases passed in $(basename "$file")"
[ "$cases" -gt 0 ] || { echo "FAIL: no cases in $file" >&2; exit 1; }
[ "$failures" = 0 ]
