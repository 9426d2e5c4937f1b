#!/bin/sh
# Installs what ctk and its tests need (Debian 12, as root), builds, and runs
# the whole test suite.
#
#   scripts/test.sh                 # build/ : every test (unit, cli, privileged)
#   scripts/test.sh --sanitize      # build-asan/ : unit and cli tests under ASan+UBSan
#
# CTK_REQUIRE_PRIVILEGED=1 turns a privileged test that would skip into a failure.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

jobs=$(nproc)
if [ "${1:-}" = "--sanitize" ]; then
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCTK_SANITIZE=ON >/dev/null
    cmake --build build-asan -j"$jobs"
    cd build-asan
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --output-on-failure -j"$jobs" -L 'unit|cli'
else
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$jobs"
    cd build
    ctest --output-on-failure -j"$jobs" -LE bench
fi
