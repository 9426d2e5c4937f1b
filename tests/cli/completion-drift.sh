#!/bin/bash
# The checked-in completions/ must match what the built ctk and plugins
# generate. On failure: scripts/gen-completions.sh BUILD_DIR, and commit.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
bash "$CTK_SOURCE_DIR/scripts/gen-completions.sh" "$CTK_BUILD_DIR" "$tmp" || fail "cannot generate completions"
for f in ctk.bash _ctk ctk.fish; do
    diff -u "$CTK_SOURCE_DIR/completions/$f" "$tmp/$f" ||
        fail "completions/$f is out of date: run scripts/gen-completions.sh $CTK_BUILD_DIR"
done
echo "completions are in sync"
