#!/usr/bin/env bash
# Layer audit benchmark (issue 3): ~1 GB in 100,000 files over 10 gzip
# layers; prints the audit's wall time and peak RSS beside the floor of
# decompressing and listing the same layers (`tar -tzf` over each, in
# sequence), as a ratio. Target: at most 1.2x the floor, under 150 MB RSS.
#
# Until `ctk layers` is wired it measures tests/bench/layers_driver.cc (the
# library the plugin calls, printing every layer's file list as JSON), built
# here against the static libraries of $CTK_BUILD_DIR (use a Release build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${CTK_SOURCE_DIR:-$here/../..}
build=${CTK_BUILD_DIR:?set CTK_BUILD_DIR to a configured build directory}

work=$(mktemp -d /tmp/ctk-layers-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --build "$build" --target ctk_runtime_image -j2 >/dev/null
g++ -std=c++20 -O2 -I"$src/libruntime/include" "$here/layers_driver.cc" \
  "$build/libruntime/libctk_runtime_image.a" "$build/libruntime/libctk_runtime.a" \
  $(pkg-config --libs fmt libarchive libzstd libcrypto) -lpthread -o "$work/layers_driver"

echo "generating the image in $work (about a minute)..."
PYTHONHASHSEED=1 python3 "$here/layers_gen.py" "$work/img"
mapfile -t layers < <(ls "$work"/img/layer*.tar.gz | sort -V)
du -ch "${layers[@]}" | tail -1 | sed 's/^/compressed: /'

# measure LABEL CMD... -> "wall_seconds max_rss_kb"
measure() {
  local out=$work/time.$1
  shift
  /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null
  cat "$out"
}

export layers_str="${layers[*]}"
read -r floor_s floor_kb < <(measure floor bash -c 'for l in $layers_str; do tar -tzf "$l"; done')
read -r audit_s audit_kb < <(measure audit "$work/layers_driver" --json "${layers[@]}")

printf '%-28s %8s s %8s MB\n' "tar -tzf (floor)" "$floor_s" "$((floor_kb / 1024))"
printf '%-28s %8s s %8s MB\n' "audit --json" "$audit_s" "$((audit_kb / 1024))"
awk -v a="$audit_s" -v f="$floor_s" 'BEGIN { printf "ratio audit/floor: %.2fx (target <= 1.2x)\n", a / f }'
