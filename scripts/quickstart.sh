#!/bin/bash
# Installs what ctk needs (Debian 12, as root), builds it into ./build, then
# shows it at work: builds a busybox image from Debian's busybox-static, runs
# a container from it (--net none: the quickstart never changes this
# machine's network), shows it with `ctk ps` and `ctk pidmap`, removes it.
#
# CTK=/path/to/ctk skips the install and the build and uses that binary
# (tests/privileged/quickstart_image.sh does, so the image part cannot rot);
# CTK_FLAGS adds global options to every ctk command ("--root D --run-root R").
set -eu
cd "$(dirname "$0")/.."
if [ -z "${CTK:-}" ]; then
    CTK_SKIP_TEST_DEPS=1 ./scripts/install-deps.sh
    dpkg -s busybox-static >/dev/null 2>&1 ||
        apt-get install -y --no-install-recommends busybox-static >/dev/null
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTK_BUILD_TESTS=OFF >/dev/null
    cmake --build build -j"$(nproc)"
    CTK=./build/bin/ctk
fi
# shellcheck disable=SC2086 # CTK_FLAGS is a list of options
ctk() { "$CTK" ${CTK_FLAGS:-} "$@"; }
step() { printf '\n$ ctk %s\n' "$*"; ctk "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ctk-quickstart.XXXXXX")
trap 'ctk rm -f quickstart >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
./scripts/busybox-image.sh busybox:latest >"$work/busybox.tar"
step load -i "$work/busybox.tar"
ctk rm -f quickstart >/dev/null 2>&1 || true # a leftover of an interrupted quickstart
step run -d --net none --name quickstart busybox sleep 60
step ps
step pidmap quickstart
step rm -f quickstart
