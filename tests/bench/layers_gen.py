#!/usr/bin/env python3
"""Generates the image of the layer benchmarks: about 1 GB in 100,000 files
over 10 gzip layers, some layers rewriting earlier files (one rewrites only
owners, like a `chown -R` layer) and one deleting a file and a directory.

usage: layers_gen.py OUTDIR
  OUTDIR/layer0.tar.gz ... layer9.tar.gz   the layer blobs, bottom first
  OUTDIR/image.tar                         a docker-archive of them (legacy
                                           manifest.json form, gzip layers, as
                                           `docker load` accepts), tagged
                                           ctk-bench/layers:1

The output is the same on every run (seeded data, fixed mtimes), so a
benchmark may cache it keyed by this file's hash.
"""
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile

LAYERS = 10
FILES = 100_000
AVG = 10_500  # bytes: 100k files * 10.5 kB ~ 1 GB
REF = "ctk-bench/layers:1"

rng = random.Random(42)
# Half random, half zeros: gzip -1 roughly halves it, as with real binaries.
POOL = random.Random(7).randbytes(8 << 20) + bytes(8 << 20)


def content(seed, size):
    off = (seed * 7919) % (len(POOL) - size - 1)
    return POOL[off:off + size]


def seed_of(path):
    # Not hash(): it is salted per process unless PYTHONHASHSEED is set.
    return int.from_bytes(hashlib.md5(path.encode()).digest()[:3], "little")


def add_file(tar, path, size, seed, uid=0, mode=0o644):
    info = tarfile.TarInfo(path)
    info.size = size
    info.mode = mode
    info.uid = uid
    info.mtime = 1_600_000_000
    tar.addfile(info, io.BytesIO(content(seed, size)))


def add_dir(tar, path):
    info = tarfile.TarInfo(path)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = 1_600_000_000
    tar.addfile(info)


def add_whiteout(tar, path):
    info = tarfile.TarInfo(path)
    info.mtime = 1_600_000_000
    tar.addfile(info)


class HashingWriter(io.RawIOBase):
    """Passes the tar stream to gzip and hashes it on the way: the layer's
    diff ID is the digest of the uncompressed tar."""

    def __init__(self, out):
        self.out = out
        self.sha = hashlib.sha256()

    def writable(self):
        return True

    def write(self, b):
        self.sha.update(b)
        self.out.write(b)
        return len(b)


def write_layer(path, build):
    with open(path, "wb") as out:
        gz = subprocess.Popen(["gzip", "-1", "-n", "-c"], stdin=subprocess.PIPE, stdout=out)
        w = HashingWriter(gz.stdin)
        with tarfile.open(fileobj=w, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            build(tar)
        gz.stdin.close()
        if gz.wait() != 0:
            sys.exit("gzip failed")
    return "sha256:" + w.sha.hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_archive(outdir, diff_ids, history):
    """docker-archive, legacy form: manifest.json, the config, the layers."""
    cfg = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2020-09-13T12:26:40Z",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2020-09-13T12:26:40Z", "created_by": h} for h in history],
    }
    cfg_bytes = json.dumps(cfg, separators=(",", ":")).encode()
    cfg_name = hashlib.sha256(cfg_bytes).hexdigest() + ".json"
    layer_names = []
    for k in range(LAYERS):
        src = os.path.join(outdir, f"layer{k}.tar.gz")
        layer_names.append(sha256_file(src) + "/layer.tar")
    manifest = [{"Config": cfg_name, "RepoTags": [REF], "Layers": layer_names}]
    with tarfile.open(os.path.join(outdir, "image.tar"), "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("manifest.json", json.dumps(manifest).encode()), (cfg_name, cfg_bytes)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
        for k, name in enumerate(layer_names):
            src = os.path.join(outdir, f"layer{k}.tar.gz")
            info = tar.gettarinfo(src, arcname=name)
            info.mtime = 1_600_000_000
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(src, "rb") as f:
                tar.addfile(info, f)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    existing = []  # (path, size)
    per_layer = [30_000] + [7_778] * (LAYERS - 1)
    made = 0
    diff_ids = []
    history = []
    for k in range(LAYERS):
        new = per_layer[k] if k < LAYERS - 1 else FILES - made

        def build(tar, k=k, new=new):
            nonlocal made
            dirs = set()
            if k == 5:
                # The chown layer: same bytes, new owner, for 8,000 files.
                for path, size in existing[:8000]:
                    add_file(tar, path, size, seed_of(path), uid=1000)
            elif k > 0:
                # Rewrites of 20% as many earlier files, with new content.
                for path, size in rng.sample(existing, new // 5):
                    add_file(tar, path, size, rng.randrange(1 << 24))
            if k == 7:
                add_whiteout(tar, "d1/s3/.wh.f3")  # a file
                add_whiteout(tar, "d2/.wh.s5")  # a directory of files
            for i in range(new):
                d = f"d{k}/s{i % 50}"
                if d not in dirs:
                    if f"d{k}" not in dirs:
                        add_dir(tar, f"d{k}")
                        dirs.add(f"d{k}")
                    add_dir(tar, d)
                    dirs.add(d)
                path = f"{d}/f{i}"
                size = rng.randrange(0, 2 * AVG)
                add_file(tar, path, size, seed_of(path))
                existing.append((path, size))
            made += new

        diff_ids.append(write_layer(os.path.join(outdir, f"layer{k}.tar.gz"), build))
        history.append(f"layers_gen.py layer {k}")
    write_archive(outdir, diff_ids, history)


if __name__ == "__main__":
    main()
