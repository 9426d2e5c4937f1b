#!/bin/bash
# inspect, logs, port, top, diff CONTAINER and commit over ctk containers
# whose on-disk records (container.h) the test writes by hand: an upper dir
# with added, modified and deleted files (real 0/0 whiteout devices) and an
# opaque directory, a json-file log, a state with a live "init" (a sleep of
# ours) and published ports. Everything lives in a temporary --root and
# --run-root and a private mount namespace.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
require_root
command -v jq >/dev/null || skip_or_fail "jq is not installed"
command -v python3 >/dev/null || skip_or_fail "python3 is not installed (sets trusted.* xattrs)"

T=$(mktemp -d /tmp/ctk-life.XXXXXX)
on_exit rm -rf "$T"
ROOT=$T/root RUN=$T/run
ctk() { "$CTK_BIN" --root "$ROOT" --run-root "$RUN" "$@"; }
new_id() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# ---- the image: a tiny rootfs imported into the store -----------------------------
mkdir -p "$T/rootfs/etc" "$T/rootfs/data"
echo root >"$T/rootfs/etc/passwd"
echo grp >"$T/rootfs/etc/group"
echo keep >"$T/rootfs/etc/keep"
echo old >"$T/rootfs/data/old"
tar -C "$T/rootfs" -cf "$T/rootfs.tar" . || fail "tar"
ctk import "$T/rootfs.tar" test/base:1 >/dev/null || fail "import"
MANIFEST=$(ctk images --format json | jq -r '.[] | select(.Name == "docker.io/test/base:1") | .Digest')
IMAGE_ID=$(ctk images --format json | jq -r '.[] | select(.Name == "docker.io/test/base:1") | .ID')
case $MANIFEST in sha256:*) ;; *) fail "no manifest digest for test/base:1: $MANIFEST";; esac

# ---- a stopped container: record, upper dir, log --------------------------------------
ID=$(new_id)
DIR=$ROOT/containers/$ID
mkdir -p "$DIR/upper" "$DIR/work" "$RUN/containers/$ID"
jq -n --arg id "$ID" --arg img "$IMAGE_ID" --arg man "$MANIFEST" \
    '{id: $id, name: "web", image: "test/base:1", image_id: $img, image_manifest: $man,
      entrypoint: [], cmd: ["sh", "-c", "echo hi"], env: ["PATH=/bin"], hostname: "web1",
      network: "none", limits: {memory: 67108864, pids: 50},
      mounts: [{type: "bind", source: "/srv", destination: "/srv", read_only: true}],
      created: "2026-11-27T18:00:00.000000001Z"}' >"$DIR/config.json"
jq -n --arg id "$ID" '{($ARGS.named.n): $id}' --arg n web >"$ROOT/containers/names.json"
jq -n --arg id "$ID" '{id: $id, name: "web", status: "exited", pid: 0, exit_code: 3,
      started_at: "2026-11-27T18:00:01Z", finished_at: "2026-11-27T18:00:02Z"}' \
    >"$RUN/containers/$ID/state.json"
U=$DIR/upper
mkdir -p "$U/etc" "$U/data"
echo "root and more" >"$U/etc/passwd"                # modified
mknod "$U/etc/group" c 0 0                           # deleted (overlay whiteout)
echo new >"$U/new.txt"                               # added
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")' "$U/data" \
    || fail "cannot set trusted.overlay.opaque"
echo fresh >"$U/data/fresh"                          # in an opaque dir: data/old is gone
{
    echo '{"log":"one\n","stream":"stdout","time":"2026-11-27T18:00:01.1Z"}'
    echo '{"log":"two\n","stream":"stderr","time":"2026-11-27T18:00:01.2Z"}'
    echo '{"log":"three\n","stream":"stdout","time":"2026-11-27T18:00:01.3Z"}'
} >"$DIR/$ID-json.log"

# ---- inspect ------------------------------------------------------------------------------
out=$(ctk inspect web --format '{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}} {{.Name}} {{json .Config.Cmd}}') \
    || fail "inspect web"
expect_eq "inspect web" "$out" 'exited 3 0 /web ["sh","-c","echo hi"]'
out=$(ctk inspect --format json web | jq -r '.[0] | [.Id, .GraphDriver.Data.UpperDir,
      (.HostConfig.Memory|tostring), (.HostConfig.PidsLimit|tostring), .HostConfig.NetworkMode,
      (.Mounts[0].RW|tostring), .Config.Hostname] | join(" ")')
expect_eq "inspect json" "$out" "$ID $U 67108864 50 none false web1"
out=$(ctk inspect "${ID:0:12}" --format '{{range .Mounts}}{{.Source}}:{{.Destination}}{{end}}')
expect_eq "inspect by ID prefix, range .Mounts" "$out" "/srv:/srv"
if ctk inspect web nosuch-container --format '{{.Name}}' >"$T/out" 2>"$T/err"; then
    fail "inspect of a missing container succeeded"
fi
expect_eq "inspect prints the found ones" "$(cat "$T/out")" "/web"
expect_contains "inspect names the missing one" "$(cat "$T/err")" "nosuch-container"

# ---- logs ----------------------------------------------------------------------------------
expect_eq "logs stdout" "$(ctk logs web 2>/dev/null)" $'one\nthree'
expect_eq "logs stderr" "$(ctk logs web 2>&1 >/dev/null)" "two"
expect_eq "logs --tail 1" "$(ctk logs --tail 1 web 2>&1)" "three"
expect_eq "logs -t" "$(ctk logs -t --tail 1 web)" "2026-11-27T18:00:01.3Z three"
expect_eq "logs --since" "$(ctk logs --since 2026-11-27T18:00:01.25Z web 2>&1)" "three"

# ---- diff CONTAINER -------------------------------------------------------------------------
out=$(ctk diff web --format '{{.Change}} {{.Path}}') || fail "diff web"
expect_eq "diff web" "$out" $'D /data\nA /data/fresh\nC /etc\nD /etc/group\nC /etc/passwd\nA /new.txt'
# The two-image form is unchanged.
ctk diff test/base:1 test/base:1 --format '{{.Path}}' >"$T/out" || fail "diff IMAGE IMAGE"
expect_eq "diff of an image with itself" "$(cat "$T/out")" ""

# ---- commit ----------------------------------------------------------------------------------
NEW=$(ctk commit -a 'Tester <t@example.org>' -m snapshot -c 'CMD ["sh"]' -c 'ENV A=1 B="x y"' \
      -c 'EXPOSE 80' -c 'LABEL stage=test' -c 'WORKDIR /srv' web test/committed:v1 --format '{{.ID}}') \
    || fail "commit"
case $NEW in sha256:*) ;; *) fail "commit printed $NEW";; esac
# The layer audit of the new top layer sees exactly the container's changes.
out=$(ctk layers test/committed:v1 --format '{{.Index}} {{.Added}} {{.Modified}} {{.Deleted}}' | tail -1)
expect_eq "layers of the commit (index added modified deleted)" "$out" "1 2 1 2"
files=$(ctk layers --layer 1 --changes-only test/committed:v1 --format json |
        jq -r '.[0].Files[] | select(.Status != "unchanged") | "\(.Status) \(.Path)"' | sort)
# (the audit counts an opaque directory as deleting the directory below)
expect_eq "files of the commit layer" "$files" \
    $'added /data/fresh\nadded /new.txt\ndeleted /data\ndeleted /etc/group\nmodified /etc/passwd'
# OCI whiteouts in the blob, no overlayfs form.
LAYER=$(ctk layers test/committed:v1 --format '{{.Digest}}' --no-trunc | tail -1)
tar -tzf "$ROOT/image/blobs/sha256/${LAYER#sha256:}" >"$T/list" || fail "the layer is not a gzip tar"
grep -qx 'etc/.wh.group' "$T/list" || fail "no etc/.wh.group in: $(cat "$T/list")"
grep -qx 'data/.wh..wh..opq' "$T/list" || fail "no opaque marker in: $(cat "$T/list")"
# Config and history.
CFG=$ROOT/image/blobs/sha256/${NEW#sha256:}
expect_eq "Cmd" "$(jq -c .config.Cmd "$CFG")" '["sh"]'
expect_eq "Env" "$(jq -c '.config.Env' "$CFG")" '["A=1","B=x y"]'
expect_eq "ExposedPorts" "$(jq -c '.config.ExposedPorts' "$CFG")" '{"80/tcp":{}}'
expect_eq "Labels" "$(jq -c '.config.Labels' "$CFG")" '{"stage":"test"}'
expect_eq "WorkingDir" "$(jq -r '.config.WorkingDir' "$CFG")" "/srv"
expect_eq "author" "$(jq -r '.author' "$CFG")" "Tester <t@example.org>"
expect_eq "diff_ids" "$(jq '.rootfs.diff_ids | length' "$CFG")" "2"
out=$(ctk history test/committed:v1 --format '{{.CreatedBy}}|{{.Comment}}' | head -1)
expect_eq "history" "$out" "sh -c echo hi|snapshot"
# A malformed change is refused before anything is written.
before=$(ls "$ROOT/image/blobs/sha256" | wc -l)
if ctk commit -c 'RUN make' web 2>"$T/err"; then fail "commit accepted RUN"; fi
expect_contains "commit -c RUN" "$(cat "$T/err")" "RUN is not one of"
expect_eq "no blob written by a refused commit" "$(ls "$ROOT/image/blobs/sha256" | wc -l)" "$before"
# The two-image diff agrees with the container's changes.
out=$(ctk diff test/base:1 test/committed:v1 --format '{{.Change}} {{.Path}}' | sort)
expect_eq "diff base committed" "$out" $'A /data/fresh\nA /new.txt\nC /etc/passwd\nD /data/old\nD /etc/group'

# ---- a running container: port, top, logs -f ------------------------------------------------
ID2=$(new_id)
mkdir -p "$ROOT/containers/$ID2/upper" "$RUN/containers/$ID2"
jq -n --arg id "$ID2" --arg img "$IMAGE_ID" --arg man "$MANIFEST" \
    '{id: $id, name: "srv", image: "test/base:1", image_id: $img, image_manifest: $man,
      cmd: ["sleep", "300"], ports: [{host_port: 8080, container_port: 80, proto: "tcp"},
      {host_ip: "127.0.0.1", host_port: 5353, container_port: 53, proto: "udp"}]}' \
    >"$ROOT/containers/$ID2/config.json"
sleep 300 &
SPID=$!
on_exit kill -9 "$SPID"
START=$(sed 's/.*) //' "/proc/$SPID/stat" | awk '{print $20}')
jq -n --arg id "$ID2" --argjson pid "$SPID" --argjson start "$START" \
    '{id: $id, name: "srv", status: "running", pid: $pid, pid_start: $start,
      endpoint: {ip: "10.89.0.7", gateway: "10.89.0.1", mac: "02:00:00:00:00:07", prefix: 16,
                 ports: [{host_ip: "", host_port: 8080, container_port: 80, proto: "tcp"},
                         {host_ip: "127.0.0.1", host_port: 5353, container_port: 53, proto: "udp"}]}}' \
    >"$RUN/containers/$ID2/state.json"
expect_eq "port" "$(ctk port srv --format '{{.Mapping}}')" $'80/tcp -> 0.0.0.0:8080\n53/udp -> 127.0.0.1:5353'
expect_eq "port 53/udp" "$(ctk port srv 53/udp --format '{{.Binding}}')" "127.0.0.1:5353"
if ctk port srv 81 2>"$T/err"; then fail "port of an unpublished port succeeded"; fi
expect_contains "port 81" "$(cat "$T/err")" "no public port '81/tcp'"
expect_eq "inspect IP of a running one" "$(ctk inspect srv --format '{{.State.Pid}} {{.NetworkSettings.IPAddress}}')" "$SPID 10.89.0.7"
out=$(ctk top srv --format '{{.PID}} {{.Command}}') || fail "top srv"
expect_contains "top srv" "$out" "$SPID sleep 300"

LOG=$ROOT/containers/$ID2/$ID2-json.log
echo '{"log":"first\n","stream":"stdout","time":"2026-11-27T18:00:01Z"}' >"$LOG"
timeout 20 "$CTK_BIN" --root "$ROOT" --run-root "$RUN" logs -f srv >"$T/follow" 2>&1 &
FPID=$!
on_exit kill "$FPID"
sleep 0.5
echo '{"log":"second\n","stream":"stdout","time":"2026-11-27T18:00:02Z"}' >>"$LOG"
sleep 0.5
kill -9 "$SPID"
wait "$SPID" 2>/dev/null
wait "$FPID"
rc=$?
expect_eq "logs -f ends when the container's process is gone" "$rc" "0"
expect_eq "logs -f output" "$(cat "$T/follow")" $'first\nsecond'
expect_eq "status after its process died" "$(ctk inspect srv --format '{{.State.Status}}')" "exited"
echo "PASS"
