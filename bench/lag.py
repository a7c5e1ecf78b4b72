"""Replication lag: when did the writer's last row reach the replica?

Both tools write a directory replica in Litestream v0.3's layout: objects
under generations/<G>/{snapshots,wal}/ are LZ4 frames of raw WAL frames (or
of the database file), each written to a temporary name and renamed, so an
object is visible only once it is whole.

The writer's last row carries a unique marker ("tx0000123456-r09-") and
the writer reports the wall-clock time of its last COMMIT. Right after the
writer exits, wait_for_marker() polls the replica every POLL seconds:

- each object name seen for the first time is stamped with the time of
  that poll; objects already there at the first poll are stamped with
  their mtime (the end of their last write, just before the rename);
- an object whose mtime is older than the last commit cannot hold it and is
  never opened; the others are decompressed (the lz4 CLI) and searched for
  the marker bytes: a page holding the row is in the object verbatim, and
  neither tool ships frames of an uncommitted transaction;
- the lag is (stamp of the first object holding the marker) - (last
  commit). Its resolution is the poll period plus the time one pass takes
  (listing and decompressing): about 20-40 ms at these sizes.
"""
import os
import subprocess
import time

POLL = 0.02


def _objects(replica, suffix=""):
    """The replica's objects; SUFFIX is what the store appends to each
    object's name (s3rver's files end in ._S3rver_object)."""
    gens = os.path.join(replica, "generations")
    try:
        glist = os.listdir(gens)
    except OSError:
        return
    for g in glist:
        for sub, kind in (("wal", ".wal.lz4"), ("snapshots", ".snapshot.lz4")):
            d = os.path.join(gens, g, sub)
            try:
                it = os.scandir(d)
            except OSError:
                continue
            with it:
                for e in it:
                    if e.name.endswith(kind + suffix):
                        yield e


def has_marker(path, marker):
    """True/False, or None when the object cannot be read (yet). The
    decompressed stream is searched in chunks, never held whole."""
    try:
        p = subprocess.Popen(["lz4", "-dc", path], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    except OSError:
        return None
    found = False
    tail = b""
    with p.stdout:
        while True:
            chunk = p.stdout.read(1 << 20)
            if not chunk:
                break
            buf = tail + chunk
            if marker in buf:
                found = True
                break
            tail = buf[-(len(marker) - 1):]
    if found:
        p.kill()
        p.wait()
        return True
    return None if p.wait() != 0 else False


def wait_for_marker(replica, marker, last_commit, timeout, suffix=""):
    """Seconds from last_commit until an object holding marker appeared,
    or None after timeout. Also returns the object's path."""
    marker = marker.encode()
    stamp = {}
    checked = set()
    first = True
    deadline = time.time() + timeout
    while True:
        now = time.time()
        todo = []
        for e in _objects(replica, suffix):
            p = e.path
            if p in checked:
                continue
            if p not in stamp:
                try:
                    mt = e.stat().st_mtime
                except OSError:
                    continue
                if mt < last_commit - 0.01:
                    checked.add(p)  # written before the commit
                    continue
                stamp[p] = mt if first else now
            todo.append(p)
        first = False
        for p in sorted(todo, key=lambda q: stamp[q]):
            r = has_marker(p, marker)
            if r is None:
                continue
            checked.add(p)
            if r:
                return stamp[p] - last_commit, p
        if time.time() > deadline:
            return None, None
        time.sleep(POLL)


def replica_bytes(replica):
    total = 0
    for root, _, files in os.walk(replica):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total
