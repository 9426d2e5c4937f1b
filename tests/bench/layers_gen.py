#!/usr/bin/env python3
"""Generates the layer-audit benchmark image: about 1 GB in 100,000 files
over 10 gzip layers, some layers rewriting earlier files (one rewrites only
owners, like a `chown -R` layer) and one deleting a directory.

usage: layers_gen.py OUTDIR   -> OUTDIR/layer0.tar.gz ... layer9.tar.gz
"""
import io
import os
import random
import subprocess
import sys
import tarfile

LAYERS = 10
FILES = 100_000
AVG = 10_500  # bytes: 100k files * 10.5 kB ~ 1 GB

rng = random.Random(42)
# Half random, half zeros: gzip -1 roughly halves it, as with real binaries.
POOL = os.urandom(8 << 20) + bytes(8 << 20)


def content(seed, size):
    off = (seed * 7919) % (len(POOL) - size - 1)
    return POOL[off:off + size]


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
    tar.addfile(info)


def write_layer(path, build):
    with open(path, "wb") as out:
        gz = subprocess.Popen(["gzip", "-1", "-c"], stdin=subprocess.PIPE, stdout=out)
        with tarfile.open(fileobj=gz.stdin, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            build(tar)
        gz.stdin.close()
        if gz.wait() != 0:
            sys.exit("gzip failed")


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    existing = []  # (path, size)
    per_layer = [30_000] + [7_778] * (LAYERS - 1)
    made = 0
    for k in range(LAYERS):
        new = per_layer[k] if k < LAYERS - 1 else FILES - made

        def build(tar, k=k, new=new):
            nonlocal made
            dirs = set()
            if k == 5:
                # The chown layer: same bytes, new owner, for 8,000 files.
                for path, size in existing[:8000]:
                    add_file(tar, path, size, hash(path) & 0xFFFFFF, uid=1000)
            elif k > 0:
                # Rewrites of 20% as many earlier files, with new content.
                for path, size in rng.sample(existing, new // 5):
                    add_file(tar, path, size, rng.randrange(1 << 24))
            if k == 7:
                tar.addfile(tarfile.TarInfo("d1/s3/.wh.f3"))
                tar.addfile(tarfile.TarInfo("d2/.wh.s5"))
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
                add_file(tar, path, size, hash(path) & 0xFFFFFF)
                existing.append((path, size))
            made += new

        write_layer(os.path.join(outdir, f"layer{k}.tar.gz"), build)


if __name__ == "__main__":
    main()
