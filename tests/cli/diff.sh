#!/bin/bash
# ctk diff IMAGE IMAGE and ctk diff packages as a user runs them, on two
# docker-archives built here that share a base layer: the second adds a
# layer that rewrites, chmods, deletes (whiteout), adds files and replaces
# /var/lib/dpkg/status (one package upgraded, one added, one removed).
# No daemon, no root needed.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"

T=$(mktemp -d /tmp/ctk-cli-diff.XXXXXX) || fail "mktemp"
on_exit rm -rf "$T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
# Archives are read into temporary stores under $TMPDIR: a private one, so
# that leftovers can be checked exactly.
export TMPDIR="$T/tmp"; mkdir "$TMPDIR"

# Deterministic tars of exactly the listed members (no implicit parents).
mktar() { local dir=$1 out=$2; shift 2
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --no-recursion \
        -C "$dir" -cf "$out" "$@"; }
# mkarchive OUT TAG LAYER.tar...: a docker-archive as docker save writes it.
mkarchive() { local out=$1 tag=$2; shift 2
    local arc="$out.d" diff_ids= layers= sums=() s l hist=
    mkdir "$arc" || return 1
    for l in "$@"; do
        s=$(sha256sum "$l" | cut -d' ' -f1); sums+=("$s")
        mkdir -p "$arc/$s" && cp "$l" "$arc/$s/layer.tar"
        diff_ids+="${diff_ids:+,}\"sha256:$s\""; layers+="${layers:+,}\"$s/layer.tar\""
        hist+="${hist:+,}{\"created_by\":\"ADD $(basename "$l")\"}"
    done
    printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
        "$diff_ids" "$hist" >"$arc/config.json"
    local cfg; cfg=$(sha256sum "$arc/config.json" | cut -d' ' -f1)
    mv "$arc/config.json" "$arc/$cfg.json"
    printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' "$cfg" "$tag" "$layers" \
        >"$arc/manifest.json"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$arc" -cf "$out" \
        manifest.json "$cfg.json" "${sums[@]}"
}
stanza() { printf 'Package: %s\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: %s\nInstalled-Size: %s\nDescription: test package\n multi-line description\n\n' "$@"; }

# Layer 0, the shared base.
mkdir -p "$T/l0/etc" "$T/l0/bin" "$T/l0/var/lib/dpkg" "$T/l0/app"
echo hello >"$T/l0/etc/motd"                                   # 6 bytes
head -c 300 /dev/zero | tr '\0' t >"$T/l0/bin/tool"
head -c 100 /dev/zero | tr '\0' o >"$T/l0/app/old.log"
ln -s tool "$T/l0/bin/sh"
{ stanza libc6 2.36-9 12000; stanza curl 7.88.1-10 500; stanza gone 1.0 10
  printf 'Package: oldconf\nStatus: deinstall ok config-files\nVersion: 1.0\n\n'; } \
    >"$T/l0/var/lib/dpkg/status"
chmod 755 "$T/l0/etc" "$T/l0/bin" "$T/l0/var" "$T/l0/var/lib" "$T/l0/var/lib/dpkg" "$T/l0/app" "$T/l0/bin/tool"
chmod 644 "$T/l0/etc/motd" "$T/l0/var/lib/dpkg/status" "$T/l0/app/old.log"
mktar "$T/l0" "$T/l0.tar" etc etc/motd bin bin/tool bin/sh var var/lib var/lib/dpkg \
    var/lib/dpkg/status app app/old.log
# Layer 1 of the second image.
mkdir -p "$T/l1/etc" "$T/l1/bin" "$T/l1/var/lib/dpkg" "$T/l1/app"
echo 'hello, world' >"$T/l1/etc/motd"                          # 13 bytes
head -c 300 /dev/zero | tr '\0' t >"$T/l1/bin/tool"             # same data, new mode
chmod 700 "$T/l1/bin/tool"
ln -s busybox "$T/l1/bin/sh"                                   # was -> tool
: >"$T/l1/app/.wh.old.log"
head -c 2048 /dev/zero | tr '\0' n >"$T/l1/app/new.bin"
{ stanza libc6 2.36-9+deb12u4 12010; stanza curl 7.88.1-10 500; stanza jq 1.6-2.1 100; } \
    >"$T/l1/var/lib/dpkg/status"
chmod 644 "$T/l1/etc/motd" "$T/l1/var/lib/dpkg/status" "$T/l1/app/.wh.old.log" "$T/l1/app/new.bin"
mktar "$T/l1" "$T/l1.tar" etc/motd bin/sh bin/tool app/.wh.old.log app/new.bin var/lib/dpkg/status
# A third image without any package database.
mkdir -p "$T/l2"; echo plain >"$T/l2/file"; chmod 644 "$T/l2/file"
mktar "$T/l2" "$T/l2.tar" file
# Alpine's database, in two versions.
mkdir -p "$T/l3/lib/apk/db" "$T/l4/lib/apk/db"
printf 'C:Q1x=\nP:musl\nV:1.2.4-r2\nA:x86_64\nI:622592\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\nI:946176\n' \
    >"$T/l3/lib/apk/db/installed"
printf 'P:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nI:622592\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\nI:950000\n' \
    >"$T/l4/lib/apk/db/installed"
chmod 644 "$T/l3/lib/apk/db/installed" "$T/l4/lib/apk/db/installed"
mktar "$T/l3" "$T/l3.tar" lib/apk/db/installed
mktar "$T/l4" "$T/l4.tar" lib/apk/db/installed

mkarchive "$T/a.tar" diff-test:a "$T/l0.tar" || fail "building a.tar"
mkarchive "$T/b.tar" diff-test:b "$T/l0.tar" "$T/l1.tar" || fail "building b.tar"
mkarchive "$T/c.tar" diff-test:c "$T/l2.tar" || fail "building c.tar"
mkarchive "$T/d.tar" diff-test:d "$T/l3.tar" || fail "building d.tar"
mkarchive "$T/e.tar" diff-test:e "$T/l3.tar" "$T/l4.tar" || fail "building e.tar"
for x in a b c d e; do ctk load -i "$T/$x.tar" >/dev/null || fail "load $x.tar"; done

# Files: A/D/C, sorted by path, as docker diff letters them.
out=$(ctk diff diff-test:a diff-test:b --format '{{.Change}} {{.Path}} {{.Detail}}')
expect_eq "file changes" "$out" "A /app/new.bin 
D /app/old.log 
C /bin/sh link (tool -> busybox)
C /bin/tool mode
C /etc/motd content
C /var/lib/dpkg/status content"
out=$(ctk diff diff-test:a diff-test:b --format '{{.Path}}')
expect_eq "paths only" "$(echo "$out" | tr '\n' ' ')" \
    "/app/new.bin /app/old.log /bin/sh /bin/tool /etc/motd /var/lib/dpkg/status "
out=$(ctk diff diff-test:a diff-test:b)
expect_contains "table header" "$out" "CHANGE"
expect_contains "table header" "$out" "OLD MODE"
expect_contains "table row" "$(echo "$out" | grep /bin/tool)" "0755"
expect_contains "table row" "$(echo "$out" | grep /bin/tool)" "0700"
expect_contains "table sizes" "$(echo "$out" | grep /app/new.bin)" "2KiB"
out=$(ctk diff diff-test:a diff-test:b --format json)
expect_contains "json added" "$out" '"Change":"A","Path":"/app/new.bin","Type":"file","OldSize":null,"NewSize":2048,"OldMode":null,"NewMode":"0644"'
expect_contains "json changed" "$out" '"Change":"C","Path":"/etc/motd","Type":"file","OldSize":6,"NewSize":13'
expect_contains "json what" "$out" '"What":["mode"]'
expect_contains "json old side" "$out" '"Old":{"Type":"file","Size":100,"Mode":"0644","Uid":0,"Gid":0,"Target":null},"New":null}'
expect_contains "json link" "$out" '"New":{"Type":"symlink","Size":0,"Mode":"0777","Uid":0,"Gid":0,"Target":"busybox"}'
# Reversed: added and deleted swap.
out=$(ctk diff diff-test:b diff-test:a --format '{{.Change}} {{.Path}}' | head -2 | tr '\n' ' ')
expect_eq "reversed" "$out" "D /app/new.bin A /app/old.log "
# The same image: nothing.
out=$(ctk diff diff-test:a diff-test:a)
expect_eq "identical images: header only" "$(echo "$out" | wc -l)" 1
# Archives directly, without loading them, and a store image against an archive.
rm -rf "$T/root2"
out=$("$CTK_BIN" --root "$T/root2" diff "docker-archive:$T/a.tar" "$T/b.tar" --format '{{.Change}}{{.Path}}' | tr '\n' ' ')
expect_eq "archives" "$out" "A/app/new.bin D/app/old.log C/bin/sh C/bin/tool C/etc/motd C/var/lib/dpkg/status "
[ ! -e "$T/root2/image/refs.json" ] || fail "diffing archives loaded them into the store"
out=$(ctk diff diff-test:c "docker-archive:$T/a.tar" --format '{{.Change}}{{.Path}}' | tr '\n' ' ')
expect_eq "store vs archive" "$out" "A/app A/app/old.log A/bin A/bin/sh A/bin/tool A/etc A/etc/motd D/file A/var A/var/lib A/var/lib/dpkg A/var/lib/dpkg/status "
out=$(ctk diff diff-test:a diff-test:c --format '{{.Change}} {{.Path}} {{.Type}}' | grep /bin/sh)
expect_eq "symlink removed" "$out" "D /bin/sh symlink"

# Packages: dpkg status of the final trees, versions by dpkg's rules.
out=$(ctk diff packages diff-test:a diff-test:b --format '{{.Change}} {{.Package}} {{.OldVersion}} {{.NewVersion}} {{.Manager}}')
expect_eq "package changes" "$out" "removed gone 1.0 <no value> dpkg
added jq <no value> 1.6-2.1 dpkg
upgraded libc6 2.36-9 2.36-9+deb12u4 dpkg"
out=$(ctk diff packages diff-test:b diff-test:a --format '{{.Change}} {{.Package}}' | grep libc6)
expect_eq "downgrade" "$out" "downgraded libc6"
out=$(ctk diff packages diff-test:a diff-test:b)
expect_contains "packages table header" "$out" "OLD VERSION"
expect_contains "packages table row" "$(echo "$out" | grep libc6)" "11.72MiB"
out=$(ctk diff packages diff-test:a diff-test:b --format json)
expect_contains "packages json" "$out" '"Change":"upgraded","Package":"libc6","OldVersion":"2.36-9","NewVersion":"2.36-9+deb12u4","OldSize":12288000,"NewSize":12298240,"Manager":"dpkg","Arch":"amd64"'
# apk: -r15 is newer than -r5; 1.2.4_git… is newer than 1.2.4 (a post-release).
out=$(ctk diff packages diff-test:d diff-test:e --format '{{.Change}} {{.Package}} {{.NewVersion}} {{.Manager}}')
expect_eq "apk changes" "$out" "upgraded busybox 1.36.1-r15 apk
upgraded musl 1.2.4_git20230717-r4 apk"
out=$(ctk diff --packages diff-test:e diff-test:d --format '{{.Change}}' | sort -u)
expect_eq "apk downgrades" "$out" "downgraded"
# One side without a database: every package of the other, and a warning.
out=$(ctk diff packages diff-test:c diff-test:a --format '{{.Change}} {{.Package}}' 2>"$T/err")
expect_eq "from an image without packages" "$(echo "$out" | tr '\n' ' ')" "added curl added gone added libc6 "
expect_contains "warning names the image" "$(cat "$T/err")" "diff-test:c has no package database"
# Neither: no records, a warning, exit 0.
out=$(ctk diff packages diff-test:c diff-test:c --format '{{.Package}}' 2>"$T/err") ||
    fail "diff packages without databases failed: $(cat "$T/err")"
expect_eq "no databases: no output" "$out" ""
expect_contains "no databases: warning" "$(cat "$T/err")" "neither diff-test:c nor diff-test:c has a package database"

# The view flag: ctk diff --packages A B is ctk diff packages A B (when the
# front end knows view flags; otherwise it must at least not be taken silently).
if out=$(ctk diff --packages diff-test:a diff-test:b --format '{{.Package}}' 2>"$T/err"); then
    expect_eq "--packages view" "$(echo "$out" | tr '\n' ' ')" "gone jq libc6 "
else
    echo "note: ctk diff --packages not supported by this front end yet: $(cat "$T/err")" >&2
fi

# Errors: one line naming the thing and the cause, non-zero exit.
ctk diff diff-test:a nope:1 >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] || fail "diff with a missing image succeeded"
expect_eq "missing image: one line" "$(wc -l <"$T/err")" 1
expect_contains "missing image named" "$(cat "$T/err")" "nope:1"
ctk diff diff-test:a >/dev/null 2>"$T/err"; rc=$?
expect_eq "one argument: usage error" "$rc" 125
expect_contains "one argument" "$(cat "$T/err")" "IMAGE"
ctk diff diff-test:a diff-test:b diff-test:c >/dev/null 2>"$T/err"; rc=$?
expect_eq "three arguments: usage error" "$rc" 125
ctk diff diff-test:a "docker-archive:$T/missing.tar" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] || fail "diff with a missing archive succeeded"
expect_eq "missing archive: one line" "$(wc -l <"$T/err")" 1
expect_contains "missing archive named" "$(cat "$T/err")" "$T/missing.tar"
echo 'not a tar' >"$T/bad.tar"
ctk diff packages "docker-archive:$T/bad.tar" diff-test:a >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] || fail "diff packages of garbage succeeded"
expect_contains "bad archive named" "$(cat "$T/err")" "$T/bad.tar"
leftover=$(ls -A "$TMPDIR")
[ -z "$leftover" ] || fail "temporary stores left behind: $leftover"
echo PASS
