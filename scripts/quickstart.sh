#!/bin/sh
# Installs what ctk needs (Debian 12, as root), builds it into ./build and
# runs its main job on a built-in default: `ctk pidmap` over this host.
set -eu
cd "$(dirname "$0")/.."
CTK_SKIP_TEST_DEPS=1 ./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTK_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
exec ./build/bin/ctk pidmap "$@"
