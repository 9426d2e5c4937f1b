# Shared helpers for shell tests. Source it: . "$CTK_SOURCE_DIR/tests/common/lib.sh"
set -u
CTK_BIN=${CTK_BIN:-$CTK_BUILD_DIR/bin/ctk}

fail() { echo "FAIL: $*" >&2; exit 1; }
# skip_or_fail REASON: skip (exit 77, reported by ctest as skipped only when
# SKIP_RETURN_CODE is set) unless CTK_REQUIRE_PRIVILEGED is set.
skip_or_fail() {
    if [ -n "${CTK_REQUIRE_PRIVILEGED:-}" ]; then fail "precondition: $*"; fi
    echo "SKIP: $*" >&2; exit 0
}
require_root() { [ "$(id -u)" = 0 ] || skip_or_fail "needs root"; }

# Cleanup actions run in reverse order on exit, success or failure.
_CTK_CLEANUP=()
on_exit() { _CTK_CLEANUP=("$*" "${_CTK_CLEANUP[@]}"); }
_ctk_run_cleanup() { local c; for c in "${_CTK_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done; }
trap _ctk_run_cleanup EXIT

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"; }
# expect_contains WHAT HAYSTACK NEEDLE
expect_contains() { case "$2" in *"$3"*) ;; *) fail "$1: '$3' not in: $2";; esac; }

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds; fails
# (status 1) once SECONDS have passed.
wait_until() {
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}
