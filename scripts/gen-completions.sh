#!/bin/bash
# Regenerates the shell completion files from a build's ctk and its plugins
# (BUILD_DIR/lib/ctk/plugins; $CTK_PLUGIN_PATH is ignored).
#
#   scripts/gen-completions.sh BUILD_DIR [OUT_DIR]     # OUT_DIR defaults to completions/
set -euo pipefail
build=${1:?usage: scripts/gen-completions.sh BUILD_DIR [OUT_DIR]}
out=${2:-$(cd "$(dirname "$0")/.." && pwd)/completions}
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
mkdir -p "$out"
gen() { env -u CTK_PLUGIN_PATH "$build/bin/ctk" --run-root "$run" completion "$1" >"$out/$2"; }
gen bash ctk.bash
gen zsh _ctk
gen fish ctk.fish
