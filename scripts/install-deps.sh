#!/bin/sh
# Installs everything ctk needs to build and test, from Debian 12 packages.
# Idempotent: when every package is present it only checks and returns.
set -eu

BUILD_PKGS="build-essential cmake pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
 libboost-program-options-dev nlohmann-json3-dev libfmt-dev
 libnl-3-dev libnl-route-3-dev libnl-nf-3-dev libnl-genl-3-dev
 libgtest-dev libgmock-dev googletest libexpected-dev
 libarchive-dev libssl-dev libzstd-dev libnftables-dev libseccomp-dev libcap-dev libncurses-dev"
# Peers and helpers used by the tests (real runtimes, test images, namespaces).
TEST_PKGS="zsh fish iproute2 util-linux procps busybox-static tini docker.io containerd runc podman skopeo umoci
 jq time python3 nftables iptables"

missing=""
for p in $BUILD_PKGS ${CTK_SKIP_TEST_DEPS:+} $([ -n "${CTK_SKIP_TEST_DEPS:-}" ] || echo "$TEST_PKGS"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
