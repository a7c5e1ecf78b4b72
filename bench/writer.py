#!/usr/bin/env python3
"""The benchmark's workload: one writer process inserting into table t.

Each transaction inserts ROWS small rows (tx, v) in one BEGIN IMMEDIATE ..
COMMIT. v starts with a marker naming the transaction and the row
("tx0000001234-r09-"), so that the last row of the last transaction can be
found verbatim in the WAL frames a replicator ships (see lag.py).

  steady:   --rate R transactions a second on a fixed schedule (a late
            transaction does not shift the ones after it)
  flat-out: --rate 0, as many transactions as the writer can commit

The connection uses WAL mode with synchronous=NORMAL, as applications run
under Litestream are told to. At the end it prints one JSON object: counts,
wall-clock times (time.time(), shared with the harness for the lag), and
commit latency percentiles in milliseconds.
"""
import argparse
import json
import sqlite3
import sys
import time

ROWS = 10
FILLER = "abcdefghijklmnopqrstuvwxyz0123456789"


def marker(tx, row):
    return "tx%010d-r%02d-" % (tx, row)


def rows_for(tx):
    f = FILLER[tx % 17:tx % 17 + 14]
    return [(tx, marker(tx, r) + f) for r in range(ROWS)]


def pct(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    i = min(len(sorted_vals) - 1, int(round(p / 100.0 * (len(sorted_vals) - 1))))
    return sorted_vals[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--secs", type=float, required=True)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--first-tx", type=int, default=1)
    a = ap.parse_args()

    c = sqlite3.connect(a.db, timeout=60, isolation_level=None)
    c.execute("PRAGMA busy_timeout=60000")
    mode = c.execute("PRAGMA journal_mode").fetchone()[0]
    if mode.lower() != "wal":
        sys.exit("writer: %s is not in WAL mode (%s)" % (a.db, mode))
    c.execute("PRAGMA synchronous=NORMAL")
    ins = "INSERT INTO t(tx, v) VALUES (?, ?)"

    lat = []
    tx = a.first_tx
    start_wall = time.time()
    start = time.perf_counter()
    end = start + a.secs
    last_commit = start_wall
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        if a.rate > 0:
            due = start + (tx - a.first_tx) / a.rate
            if due >= end:
                break
            if due > now:
                time.sleep(due - now)
        rows = rows_for(tx)
        t0 = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        c.executemany(ins, rows)
        c.execute("COMMIT")
        t1 = time.perf_counter()
        last_commit = time.time()
        lat.append(t1 - t0)
        tx += 1
    elapsed = time.perf_counter() - start
    c.close()

    n = tx - a.first_tx
    lat.sort()
    print(json.dumps({
        "tx": n,
        "first_tx": a.first_tx,
        "last_tx": tx - 1,
        "marker": marker(tx - 1, ROWS - 1),
        "start": start_wall,
        "last_commit": last_commit,
        "elapsed": elapsed,
        "tps": n / elapsed if elapsed > 0 else 0.0,
        "lat_p50_ms": pct(lat, 50) * 1e3,
        "lat_p99_ms": pct(lat, 99) * 1e3,
        "lat_mean_ms": (sum(lat) / len(lat) if lat else 0.0) * 1e3,
        "lat_max_ms": (lat[-1] if lat else 0.0) * 1e3,
    }))


if __name__ == "__main__":
    main()
