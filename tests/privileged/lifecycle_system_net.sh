#!/bin/bash
# ctk system check / prune find and detach the network endpoint of a
# container that is gone (its veth vanished with its namespace) and leave a
# live one alone. ctk runs in a network namespace the test creates: the
# bridge and nftables table it opens live there and go with it.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
require_root
command -v jq >/dev/null || skip_or_fail "jq is not installed"
command -v ip >/dev/null || skip_or_fail "iproute2 is not installed"
command -v nsenter >/dev/null || skip_or_fail "nsenter is not installed"

HOST_HAD_CTK0=$(ip link show ctk0 2>/dev/null)
NS=ctk-life-$$
ip netns add "$NS" || skip_or_fail "cannot create a network namespace"
on_exit ip netns del "$NS"
T=$(mktemp -d /tmp/ctk-sysnet.XXXXXX)
on_exit rm -rf "$T"
ROOT=$T/root RUN=$T/run
ctk() { nsenter --net="/run/netns/$NS" "$CTK_BIN" --root "$ROOT" --run-root "$RUN" "$@"; }
new_id() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
GONE=$(new_id)
mkdir -p "$RUN/net" "$ROOT/containers"
# The endpoint record the net module keeps; its host veth does not exist.
jq -n --arg id "$GONE" '{($id): {name: "gone", ip: "10.89.0.9", host_veth: "ctkdead0000001",
      ports: [{host_ip: "", host_port: 8080, container_port: 80, proto: "tcp"}]}}' \
    >"$RUN/net/endpoints.json"

ctk system check --format '{{.Kind}} {{.ID}}' --no-trunc >"$T/check" 2>"$T/err"
rc=$?
expect_eq "check exit status" "$rc" "1"
expect_eq "check" "$(grep "$GONE" "$T/check")" "network $GONE"
ctk system prune --format '{{.Kind}} {{.ID}} {{.Action}}' --no-trunc >"$T/prune" 2>"$T/err" \
    || fail "prune: $(cat "$T/err")"
expect_eq "prune" "$(grep "$GONE" "$T/prune")" "network $GONE detached"
expect_eq "endpoint record after prune" "$(jq -r --arg id "$GONE" 'has($id)' "$RUN/net/endpoints.json")" "false"
ctk system check --format '{{.Kind}} {{.ID}}' --no-trunc >"$T/check2"
expect_eq "check after prune" "$(grep "$GONE" "$T/check2")" ""
# The bridge was opened in the test's namespace, and nothing outside it.
nsenter --net="/run/netns/$NS" ip link show ctk0 >/dev/null 2>&1 || fail "no ctk0 in $NS"
if [ -z "$HOST_HAD_CTK0" ] && ip link show ctk0 >/dev/null 2>&1; then
    fail "ctk0 appeared in the host's namespace"
fi
echo "PASS"
