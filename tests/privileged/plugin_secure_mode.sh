#!/bin/bash
# $CTK_PLUGIN_PATH is ignored in secure mode (AT_SECURE: a setuid or setcap
# ctk run by another user), so nobody can make a privileged ctk load their
# code. The control run shows the same variable is honoured otherwise.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
require_root
command -v setpriv >/dev/null || skip_or_fail "setpriv (util-linux) is missing"

good="$CTK_BUILD_DIR/test-plugins/good"
[ -f "$good/test-echo.so" ] || fail "test plugin missing: $good/test-echo.so"

dir=$(mktemp -d /tmp/ctk-secure.XXXXXX)
on_exit "rm -rf '$dir'"
chmod 755 "$dir"
mkdir -p "$dir/bin" "$dir/lib/ctk/plugins" "$dir/run-plain" "$dir/run-suid"
cp "$CTK_BIN" "$dir/bin/ctk"
cp "$CTK_BUILD_DIR/lib/ctk/plugins/pidmap.so" "$dir/lib/ctk/plugins/"
chown -R root:root "$dir"
chmod 755 "$dir/bin/ctk"
chmod 777 "$dir/run-plain" # the unprivileged control run may write its index

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# Control: not setuid, the variable is honoured.
plain=$(CTK_PLUGIN_PATH="$good" as_nobody "$dir/bin/ctk" --run-root "$dir/run-plain" plugins \
    --format '{{.Name}} {{.Status}}' 2>&1)
expect_contains "CTK_PLUGIN_PATH honoured without secure mode" "$plain" "test-echo loaded"

# Secure mode: the same ctk, setuid root, run by nobody.
chmod 4755 "$dir/bin/ctk"
suid=$(CTK_PLUGIN_PATH="$good" as_nobody "$dir/bin/ctk" --run-root "$dir/run-suid" plugins \
    --format '{{.Name}} {{.Status}}' 2>&1)
expect_contains "the install's own plugins still load in secure mode" "$suid" "pidmap loaded"
case "$suid" in *test-echo*) fail "secure mode loaded a plugin from CTK_PLUGIN_PATH: $suid";; esac
echo "PASS"
