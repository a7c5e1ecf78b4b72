#!/usr/bin/env python3
"""walship against Litestream v0.3.13 on the same workloads, side by side.

Run by bench/run.sh (make bench), which gives a fresh work directory and
removes it. Every replicator gets its own database, directory replica and
config (sync-interval 1s, monitor-interval left at its 1s default), and
its log goes to a file. Workloads:

  steady    about 200 transactions/s of 10 small rows, 60 s (quick: 15 s)
  flat-out  one writer committing 10-row transactions as fast as it can,
            30 s (quick: 10 s)
  restore   a ~300 MB database (quick: ~50 MB) built by one bulk insert,
            replicated by each tool until its replica holds it, then
            restored by each tool from its own replica and from the other
            tool's replica
  age       client-side encryption: walship with an age: block, walship
            without, and Litestream with its age: block, each on the steady
            workload (CPU per 10,000 transactions) and on a restore of the
            big database (MB/s). On by default; off in quick mode unless
            BENCH_AGE=1. BENCH_AGE_ONLY=1 runs it alone; BENCH_AGE_SECS and
            BENCH_AGE_MB shorten it further.

and then the same three with an S3 replica on s3rver (s3store.py), where
the steady run is followed by an idle window, and the S3 requests of
both windows are counted at the server. The S3 restore database is smaller
(~100 MB, quick ~30 MB): s3rver, not the tools, would set the pace.

A writer-alone run (no replicator) gives the throughput baseline: once for
steady, once per repetition for flat-out (paired with that repetition's
replicated runs). The order of the tools alternates between repetitions.
How CPU and memory are measured: proctree.py; the lag: lag.py.

Every process started here runs in its own session; its pid goes to
WORK/pids so that run.sh can kill what is left whatever happens, and the
finally blocks kill it on the normal paths.
"""
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lag  # noqa: E402
import proctree  # noqa: E402
import report  # noqa: E402
import s3store  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOOLS = {
    "walship": os.environ.get("WALSHIP", os.path.join(ROOT, "bin", "walship")),
    "litestream": os.path.join(ROOT, ".deps", "node_modules", "@flydotio",
                               "litestream-linux-x64", "litestream"),
}
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REPS = int(os.environ.get("BENCH_REPS", "1" if QUICK else "3"))
STEADY_SECS = 15 if QUICK else 60
STEADY_RATE = 200
FLAT_SECS = 10 if QUICK else 30
RESTORE_MB = 50 if QUICK else 300
# The S3 runs: s3rver (Node.js) serves both tools and is slower than a
# disk, so the S3 restore database is smaller; the idle window counts the
# requests a replicator makes when nothing changes.
S3_RESTORE_MB = 30 if QUICK else 100
IDLE_SECS = 15 if QUICK else 60
SYNC_INTERVAL = 1.0
STEADY_LAG_TIMEOUT = 30
FLAT_LAG_TIMEOUT = 60 if QUICK else 120
# BENCH_ONLY=dir|s3: only the directory or only the S3 workloads.
ONLY = os.environ.get("BENCH_ONLY", "")
AGE = os.environ.get("BENCH_AGE", "0" if QUICK else "1") not in ("", "0")
AGE_ONLY = os.environ.get("BENCH_AGE_ONLY", "") not in ("", "0")
AGE_SECS = float(os.environ.get("BENCH_AGE_SECS", STEADY_SECS))
AGE_MB = float(os.environ.get("BENCH_AGE_MB", RESTORE_MB))
# The throw-away test key of the age sample (never protects anything).
AGE_KEY = os.path.join(ROOT, "tests", "unit", "age_vectors",
                       "litestream-sample", "key.txt")
AGE_RECIPIENT = "age14e83rlkg37j0qgtl8c2g30yr585z5nng588eyqw8rjmlp4ael9mqd98p8w"
# BENCH_KEEP=DIR: copy the log of every run that had a problem into DIR.
KEEP = os.environ.get("BENCH_KEEP", "")

WORK = None
LIVE = set()


def say(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def spawn(args, log_path, capture=False, env=None):
    """Starts args in a session of its own, stderr (and stdout unless
    captured) to log_path."""
    with open(log_path, "ab") as log:
        p = subprocess.Popen(args, stdout=subprocess.PIPE if capture else log,
                             stderr=log, stdin=subprocess.DEVNULL,
                             start_new_session=True, env=env)
    LIVE.add(p)
    with open(os.path.join(WORK, "pids"), "a") as f:
        f.write("%d\n" % p.pid)
    return p


def kill_group(p, sig):
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def reap(p, timeout):
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        kill_group(p, signal.SIGKILL)
        return p.wait()
    finally:
        LIVE.discard(p)


def kill_all():
    for p in list(LIVE):
        kill_group(p, signal.SIGTERM)
    for p in list(LIVE):
        reap(p, 5)


def machine_busy():
    """Busy CPU seconds of the whole machine so far (/proc/stat), to show
    how much else ran beside a measurement."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / proctree.CLK_TCK


def new_db(path):
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, tx INTEGER NOT NULL,"
              " v TEXT NOT NULL)")
    c.close()


def write_config(path, db, replica, extra="", store=None,
                 s3_path=s3store.PREFIX):
    """A config replicating DB to the directory REPLICA (EXTRA appended to
    its entry), or to STORE (an s3store.Store) at S3_PATH when given."""
    with open(path, "w") as f:
        # user: root keeps walship's processes as the invoking root (the
        # bench's files are root's); Litestream ignores the key.
        f.write("user: root\ndbs:\n  - path: %s\n    replicas:\n" % db)
        if store is not None:
            f.write(store.config(s3_path))
        else:
            f.write("      - type: file\n        path: %s\n"
                    "        sync-interval: 1s\n%s" % (replica, extra))


def table_sig(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return c.execute("SELECT count(*), coalesce(max(tx), 0),"
                         " coalesce(sum(tx), 0) FROM t").fetchone()
    finally:
        c.close()


def integrity(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()


def has_snapshot(replica, suffix=""):
    return any(e.name.endswith(".snapshot.lz4" + suffix)
               for e in lag._objects(replica, suffix))


def wait_until(cond, timeout, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def log_problems(path):
    """Lines of a replicator's log at WARN level or worse."""
    bad = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                low = line.lower()
                if ("level=warn" in low or "level=error" in low or
                        "panic" in low or "fatal" in low):
                    bad.append(line.rstrip())
    except OSError:
        pass
    return bad


def run_writer(db, secs, rate, log_path):
    p = spawn([sys.executable, os.path.join(HERE, "writer.py"), "--db", db,
               "--secs", str(secs), "--rate", str(rate)], log_path,
              capture=True)
    out = p.stdout.read()
    rc = reap(p, 30)
    if rc != 0:
        raise RuntimeError("writer failed (exit %d), see %s" % (rc, log_path))
    return json.loads(out)


def stop_tool(p, timeout=30):
    t0 = time.time()
    try:
        os.kill(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    rc = reap(p, timeout)
    kill_group(p, signal.SIGKILL)  # anything left in its session
    return rc, time.time() - t0


def restore(tool, cfg, db, out, log_path):
    """Runs `tool restore`; returns (rc, wall s, cpu s, max RSS kB).
    GNU time reports the CPU and max RSS: it forks the restore from its own
    small image, where a fork of this Python process would carry the
    harness's size into ru_maxrss."""
    for q in (out, out + "-wal", out + "-shm"):
        if os.path.exists(q):
            os.unlink(q)
    tf = log_path + ".time"
    os.sync()
    t0 = time.perf_counter()
    p = spawn(["/usr/bin/time", "-o", tf, "-f", "%U %S %M", TOOLS[tool],
               "restore", "-o", out, "-config", cfg, db], log_path)
    rc = reap(p, 600)
    wall = time.perf_counter() - t0
    cpu, maxrss = None, None
    try:
        with open(tf) as f:
            u, s, m = f.read().split()[-3:]
        cpu, maxrss = float(u) + float(s), int(m)
    except (OSError, ValueError):
        pass
    return rc, wall, cpu, maxrss


def baseline_run(workload, secs, rate):
    d = os.path.join(WORK, "run")
    os.makedirs(d)
    try:
        db = os.path.join(d, "app.db")
        new_db(db)
        w = run_writer(db, secs, rate, os.path.join(d, "writer.log"))
        return {"tool": "none", "workload": workload, "writer": w}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def replicated_run(tool, workload, secs, rate, verify, s3=False):
    """One replicated run; with S3 the replica is on a fresh s3rver, whose
    requests are counted in the window, and then (steady) over IDLE_SECS
    with no writes."""
    d = os.path.join(WORK, "run")
    os.makedirs(d)
    db = os.path.join(d, "app.db")
    replica = os.path.join(d, "replica")
    cfg = os.path.join(d, "config.yml")
    log_path = os.path.join(d, tool + ".log")
    new_db(db)
    store, suffix = None, ""
    res = {"tool": tool, "workload": workload, "problems": []}
    p = None
    try:
        if s3:
            store = s3store.Store(d, spawn, reap)
            replica, suffix = store.replica_dir(), s3store.OBJECT_SUFFIX
        write_config(cfg, db, replica, store=store)
        p = spawn([TOOLS[tool], "replicate", "-config", cfg], log_path)
        sampler = proctree.Sampler(p.pid)
        sampler.start()
        try:
            if not wait_until(lambda: has_snapshot(replica, suffix), 30):
                res["problems"].append("no snapshot in the replica after 30 s")
                return res
            s0 = sampler.sample_now()
            per0 = sampler.last_per
            busy0 = machine_busy()
            w = run_writer(db, secs, rate, os.path.join(d, "writer.log"))
            timeout = FLAT_LAG_TIMEOUT if rate == 0 else STEADY_LAG_TIMEOUT
            lag_s, obj = lag.wait_for_marker(replica, w["marker"],
                                             w["last_commit"], timeout, suffix)
            s1 = sampler.sample_now()
            res["cpu_by_process"] = sampler.per_process(per0,
                                                        sampler.last_per)
            res["machine_busy_cores"] = ((machine_busy() - busy0) /
                                         (s1[0] - s0[0]))
            if lag_s is None:
                res["problems"].append(
                    "last row not in the replica %d s after the last commit"
                    % timeout)
            if p.poll() is not None:
                res["problems"].append("replicator exited during the run: %s"
                                       % p.returncode)
            rss, pss = sampler.peak()
            res.update({
                "writer": w,
                "lag_s": lag_s,
                "lag_object": obj and os.path.relpath(obj, replica),
                "cpu_s": s1[1] - s0[1],
                "window_s": s1[0] - s0[0],
                "cpu_per_10k": (s1[1] - s0[1]) * 10000.0 / max(1, w["tx"]),
                "peak_rss_kb": rss,
                "peak_pss_kb": pss,
                "pids_seen": sampler.pids_seen(),
                "nproc_start": s0[4],
            })
            if store is not None:
                t1 = time.time()
                res["s3_requests"] = store.requests(t1 - res["window_s"], t1)
                res["s3_per_hour"] = (sum(res["s3_requests"].values()) *
                                      3600.0 / res["window_s"])
                if rate != 0:
                    time.sleep(IDLE_SECS)
                    s2 = sampler.sample_now()
                    idle = store.requests(t1, time.time())
                    res["s3_idle_requests"] = idle
                    res["s3_idle_per_hour"] = (sum(idle.values()) * 3600.0 /
                                               (time.time() - t1))
                    res["idle_cpu_s"] = s2[1] - s1[1]
        finally:
            sampler.stop()
    finally:
        if p is not None:
            rc, stop_s = stop_tool(p)
            res["exit"] = rc
            res["stop_s"] = stop_s
            if rc not in (0, None):
                res["problems"].append("replicator exit status %s on SIGTERM"
                                       % rc)
        bad = log_problems(log_path)
        if bad:
            res["problems"].append("%d WARN/ERROR log lines: %s" % (
                len(bad), " | ".join(x[:300] for x in bad[:3])))
        res["replica_mb"] = lag.replica_bytes(replica) / 1e6
        if verify and "writer" in res:
            verify_replica(res, tool, cfg, db, d)
        if store is not None:
            store.stop()
        if res["problems"] and KEEP:
            keep = os.path.join(KEEP, "%s-%s-%d.log" % (
                tool, workload, int(time.time())))
            shutil.copy(log_path, keep)
            res["problems"].append("log kept in " + keep)
        shutil.rmtree(d, ignore_errors=True)
    return res


def verify_replica(res, tool, cfg, db, d):
    """The tool's own restore of its replica must equal the database."""
    out = os.path.join(d, "verify.db")
    lp = os.path.join(d, "verify.log")
    rc, wall, _, _ = restore(tool, cfg, db, out, lp)
    res["verify_restore_s"] = wall
    res["verified"] = False
    if rc != 0:
        res["problems"].append("verification restore failed (exit %d): %s"
                               % (rc, tail(lp)))
        return
    want = table_sig(db)
    try:
        got, ok = table_sig(out), integrity(out)
    except sqlite3.DatabaseError as e:
        res["problems"].append("verification: %s's restore of its replica"
                               " is unreadable: %s" % (tool, e))
        keep_file(lp, tool + "-verify")
        return
    if want != got or ok != "ok":
        res["problems"].append("verification: restored table %s, want %s;"
                               " integrity_check: %s" % (got, want, ok[:200]))
        keep_file(lp, tool + "-verify")
        return
    res["verified"] = True


def keep_file(path, label):
    if KEEP and os.path.exists(path):
        shutil.copy(path, os.path.join(KEEP, "%s-%d.log" % (
            label, int(time.time()))))


def build_big_db(path, target_bytes):
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=OFF")
    c.execute("PRAGMA synchronous=OFF")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, tx INTEGER NOT NULL,"
              " v TEXT NOT NULL)")
    lo = 10
    step = max(20000, target_bytes // 1000)
    while True:
        pages = c.execute("PRAGMA page_count").fetchone()[0]
        psize = c.execute("PRAGMA page_size").fetchone()[0]
        if pages * psize >= target_bytes:
            break
        c.execute("BEGIN")
        c.execute(
            "INSERT INTO t(tx, v) WITH RECURSIVE c(x) AS (SELECT ? UNION ALL"
            " SELECT x + 1 FROM c WHERE x < ?) SELECT x / 10,"
            " printf('tx%010d-r%02d-', x / 10, x % 10) ||"
            " hex(randomblob(12)) || 'abcdefghijklmnop' FROM c",
            (lo, lo + step - 1))
        c.execute("COMMIT")
        lo += step
    c.execute("PRAGMA journal_mode=WAL")
    c.close()
    return os.path.getsize(path)


def restore_bench(s3=False):
    """Each tool replicates the same big database, then restores from its
    own replica and the other's; with S3 both replicas are on one s3rver,
    at paths named after the tools."""
    d = os.path.join(WORK, "restore")
    os.makedirs(d)
    res = {"workload": "s3-restore" if s3 else "restore", "problems": [],
           "initial": {}, "restores": []}
    store, suffix = None, ""
    try:
        if s3:
            store = s3store.Store(d, spawn, reap)
            suffix = s3store.OBJECT_SUFFIX
        src = os.path.join(d, "src.db")
        t0 = time.time()
        size = build_big_db(src, (S3_RESTORE_MB if s3 else RESTORE_MB) *
                            1000 * 1000)
        want = table_sig(src)
        res["db_bytes"] = size
        say("restore: built a %.0f MB database in %.1f s" %
            (size / 1e6, time.time() - t0))
        cfgs = {}
        for tool in TOOLS:
            td = os.path.join(d, tool)
            os.makedirs(td)
            db = os.path.join(td, "app.db")
            shutil.copyfile(src, db)
            replica = os.path.join(td, "replica")
            if store is not None:
                replica = store.replica_dir(tool)
            cfg = os.path.join(td, "config.yml")
            write_config(cfg, db, replica, store=store, s3_path=tool)
            cfgs[tool] = (cfg, db)
            res["initial"][tool] = initial_sync(tool, cfg, replica, td, res,
                                                suffix)
        out = os.path.join(d, "out.db")
        pairs = [(t, o) for t in TOOLS for o in TOOLS]
        for rep in range(REPS):
            order = pairs if rep % 2 == 0 else pairs[::-1]
            for restorer, owner in order:
                cfg, db = cfgs[owner]
                lp = os.path.join(d, "restore-%s-%s.log" % (restorer, owner))
                rc, wall, cpu, maxrss = restore(restorer, cfg, db, out, lp)
                r = {"restorer": restorer, "replica": owner, "rep": rep,
                     "rc": rc, "wall_s": wall, "cpu_s": cpu,
                     "maxrss_kb": maxrss}
                if rc != 0:
                    res["problems"].append(
                        "%s restore of %s's replica failed (exit %d): %s" % (
                            restorer, owner, rc, tail(lp)))
                else:
                    r["mb_s"] = os.path.getsize(out) / 1e6 / wall
                    if rep == 0:
                        got = table_sig(out)
                        ok = integrity(out)
                        if got != want or ok != "ok":
                            res["problems"].append(
                                "%s restore of %s's replica: table %s"
                                " (want %s), integrity %s" % (
                                    restorer, owner, got, want, ok))
                        r["verified"] = got == want and ok == "ok"
                res["restores"].append(r)
                say("restore: %s from %s's replica: %.2f s" % (
                    restorer, owner, wall))
    finally:
        if store is not None:
            store.stop()
        shutil.rmtree(d, ignore_errors=True)
    return res


# ---- age: encrypted replicas ---------------------------------------------

AGE_VARIANTS = [("walship", False), ("walship", True), ("litestream", True)]


def age_block(tool, enc, keyfile):
    """The replica's age: lines: walship reads its identity from a key
    file, Litestream v0.3.13 only takes key strings."""
    if not enc:
        return ""
    if tool == "walship":
        return ("        age:\n          recipients: [%s]\n"
                "          identity-file: %s\n" % (AGE_RECIPIENT, keyfile))
    with open(keyfile) as f:
        ident = [x.strip() for x in f if x.startswith("AGE-SECRET-KEY-1")][0]
    return ("        age:\n          identities: [%s]\n"
            "          recipients: [%s]\n" % (ident, AGE_RECIPIENT))


def age_label(tool, enc):
    return "%s%s" % (tool, " age" if enc else "")


def age_steady(tool, enc, keyfile, res):
    """The steady workload on an (encrypted) replica: the tree's CPU from
    the writer's start until two sync intervals after its end, and a check
    that the tool's own restore gives the database back."""
    d = os.path.join(WORK, "run")
    os.makedirs(d)
    db = os.path.join(d, "app.db")
    replica = os.path.join(d, "replica")
    cfg = os.path.join(d, "config.yml")
    log_path = os.path.join(d, tool + ".log")
    label = age_label(tool, enc)
    new_db(db)
    write_config(cfg, db, replica, age_block(tool, enc, keyfile))
    p = spawn([TOOLS[tool], "replicate", "-config", cfg], log_path)
    sampler = proctree.Sampler(p.pid)
    sampler.start()
    try:
        if not wait_until(lambda: has_snapshot(replica), 30):
            res["problems"].append("%s: no snapshot after 30 s" % label)
            return
        s0 = sampler.sample_now()
        w = run_writer(db, AGE_SECS, STEADY_RATE,
                       os.path.join(d, "writer.log"))
        time.sleep(2 * SYNC_INTERVAL)
        s1 = sampler.sample_now()
        res["steady"][label] = {
            "tx": w["tx"], "cpu_s": s1[1] - s0[1],
            "cpu_per_10k": (s1[1] - s0[1]) * 10000.0 / max(1, w["tx"]),
            "peak_rss_kb": sampler.peak()[0]}
    finally:
        sampler.stop()
        rc, _ = stop_tool(p)
        if rc not in (0, None):
            res["problems"].append("%s exit status %s" % (label, rc))
        bad = log_problems(log_path)
        if bad:
            res["problems"].append("%s: %s" % (label, bad[0][:300]))
    out = os.path.join(d, "out.db")
    rc, _, _, _ = restore(tool, cfg, db, out, os.path.join(d, "r.log"))
    if rc != 0 or table_sig(out) != table_sig(db):
        res["problems"].append("%s: its restore does not match (exit %d)"
                               % (label, rc))
    shutil.rmtree(d, ignore_errors=True)


def age_restore(keyfile, res):
    """The big database replicated by each variant, then restored by the
    same tool: MB/s of the restored file over the wall time."""
    d = os.path.join(WORK, "age-restore")
    os.makedirs(d)
    try:
        src = os.path.join(d, "src.db")
        size = build_big_db(src, AGE_MB * 1000 * 1000)
        want = table_sig(src)
        res["db_bytes"] = size
        for tool, enc in AGE_VARIANTS:
            label = age_label(tool, enc)
            td = os.path.join(d, label.replace(" ", "-"))
            os.makedirs(td)
            db = os.path.join(td, "app.db")
            shutil.copyfile(src, db)
            replica = os.path.join(td, "replica")
            cfg = os.path.join(td, "config.yml")
            write_config(cfg, db, replica, age_block(tool, enc, keyfile))
            initial_sync(tool, cfg, replica, td, res)
            out = os.path.join(td, "out.db")
            rc, wall, cpu, _ = restore(tool, cfg, db, out,
                                       os.path.join(td, "r.log"))
            if rc != 0 or table_sig(out) != want:
                res["problems"].append("%s: restore failed or differs "
                                       "(exit %d): %s" % (
                                           label, rc,
                                           tail(os.path.join(td, "r.log"))))
                continue
            res["restore"][label] = {"wall_s": wall, "cpu_s": cpu,
                                     "mb_s": os.path.getsize(out) / 1e6 /
                                     wall}
            say("age: %s restored %.0f MB in %.2f s" % (label, size / 1e6,
                                                         wall))
            shutil.rmtree(td, ignore_errors=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def age_bench():
    res = {"workload": "age", "problems": [], "steady": {}, "restore": {},
           "secs": AGE_SECS, "mb": AGE_MB}
    # The key must be private: walship refuses a key file others can read.
    keyfile = os.path.join(WORK, "age-key.txt")
    shutil.copyfile(AGE_KEY, keyfile)
    os.chmod(keyfile, 0o600)
    for tool, enc in AGE_VARIANTS:
        say("age: steady, %s" % age_label(tool, enc))
        age_steady(tool, enc, keyfile, res)
    age_restore(keyfile, res)
    return res


def tail(path, n=3):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(x.rstrip() for x in f.readlines()[-n:])
    except OSError:
        return ""


def initial_sync(tool, cfg, replica, td, res, suffix=""):
    """Replicates the big database until the replica holds its snapshot and
    has been quiet for 2 sync intervals, then stops the tool."""
    log_path = os.path.join(td, tool + ".log")
    p = spawn([TOOLS[tool], "replicate", "-config", cfg], log_path)
    sampler = proctree.Sampler(p.pid)
    sampler.start()
    t0 = time.time()
    out = {}
    try:
        if not wait_until(lambda: has_snapshot(replica, suffix), 120):
            res["problems"].append("%s: no snapshot of the big database" % tool)
            return out
        out["snapshot_s"] = time.time() - t0
        last, quiet_since = None, time.time()
        while time.time() - quiet_since < 2 * SYNC_INTERVAL:
            cur = sorted((e.path, e.stat().st_size)
                         for e in lag._objects(replica, suffix))
            if cur != last:
                last, quiet_since = cur, time.time()
            time.sleep(0.1)
        s = sampler.sample_now()
        out["cpu_s"] = s[1]
        out["peak_rss_kb"] = sampler.peak()[0]
    finally:
        sampler.stop()
        rc, _ = stop_tool(p)
        if rc not in (0, None):
            res["problems"].append("%s exit status %s on SIGTERM" % (tool, rc))
        bad = log_problems(log_path)
        if bad:
            res["problems"].append("%s: %d WARN/ERROR log lines: %s" % (
                tool, len(bad), " | ".join(x[:300] for x in bad[:3])))
    out["replica_mb"] = lag.replica_bytes(replica) / 1e6
    say("restore: %s replicated the database (snapshot after %.1f s)" % (
        tool, out.get("snapshot_s", -1)))
    return out


def describe(path):
    """Path, version and content hash of a binary, to tell runs apart."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    try:
        v = subprocess.run([path, "version"], capture_output=True, text=True,
                           timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        v = "?"
    return "%s %s (sha256 %s, modified %s)" % (
        path, v, h.hexdigest()[:12],
        time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(path))))


def guarded(tool, workload, fn, *args, **kw):
    """Runs one measurement; an exception becomes a problem of that run and
    the bench goes on with the next one."""
    try:
        return fn(*args, **kw)
    except Exception as e:  # noqa: BLE001
        say("  %s %s failed: %r" % (tool, workload, e))
        kill_all()
        shutil.rmtree(os.path.join(WORK, "run"), ignore_errors=True)
        return {"tool": tool, "workload": workload,
                "problems": ["the harness failed: %r" % e],
                "restores": [], "initial": {}}


def main():
    global WORK
    if len(sys.argv) != 3:
        sys.exit("usage: bench.py WORKDIR RESULTS_FILE")
    WORK, results_path = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for t, path in TOOLS.items():
        if not os.access(path, os.X_OK):
            sys.exit("%s not found at %s" % (t, path))
    meta = {"quick": QUICK, "reps": REPS, "steady_secs": STEADY_SECS,
            "age": AGE or AGE_ONLY,
            "steady_rate": STEADY_RATE, "flat_secs": FLAT_SECS,
            "restore_mb": RESTORE_MB, "s3_restore_mb": S3_RESTORE_MB,
            "idle_secs": IDLE_SECS, "cpus": os.cpu_count(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "binaries": {t: describe(p) for t, p in TOOLS.items()}}
    runs = []
    tools = list(TOOLS)
    started = time.time()
    try:
        if AGE_ONLY:
            runs.append(guarded("age", "age", age_bench))
            return
        say("steady: writer alone, %d s at %d tx/s" % (STEADY_SECS,
                                                      STEADY_RATE))
        runs.append(baseline_run("steady", STEADY_SECS, STEADY_RATE))
        kinds = [k for k in ("dir", "s3") if ONLY in ("", k)]
        for kind in kinds:
            pre = "s3-" if kind == "s3" else ""
            label = "S3 " if kind == "s3" else ""
            for rep in range(REPS):
                for tool in (tools if rep % 2 == 0 else tools[::-1]):
                    say("%ssteady #%d: %s" % (label, rep + 1, tool))
                    r = guarded(tool, pre + "steady", replicated_run, tool,
                                pre + "steady", STEADY_SECS, STEADY_RATE,
                                verify=True, s3=kind == "s3")
                    r["rep"] = rep
                    runs.append(r)
                    say("  " + report.one_line(r))
            for rep in range(REPS):
                if kind == kinds[0]:
                    say("flat-out #%d: writer alone, %d s" % (rep + 1,
                                                             FLAT_SECS))
                    b = baseline_run("flat", FLAT_SECS, 0)
                    b["rep"] = rep
                    runs.append(b)
                    say("  writer alone: %.0f tx/s" % b["writer"]["tps"])
                for tool in (tools if rep % 2 == 0 else tools[::-1]):
                    say("%sflat-out #%d: %s" % (label, rep + 1, tool))
                    r = guarded(tool, pre + "flat", replicated_run, tool,
                                pre + "flat", FLAT_SECS, 0,
                                verify=(rep == 0), s3=kind == "s3")
                    r["rep"] = rep
                    runs.append(r)
                    say("  " + report.one_line(r))
            runs.append(guarded("restore", pre + "restore", restore_bench,
                                s3=kind == "s3"))
        if AGE:
            runs.append(guarded("age", "age", age_bench))
    except BaseException as e:
        meta["aborted"] = repr(e)
        raise
    finally:
        kill_all()
        meta["elapsed_s"] = time.time() - started
        text = report.render(meta, runs)
        print(text)
        with open(results_path, "w") as f:
            f.write(text)
        if os.environ.get("BENCH_JSON"):
            with open(os.environ["BENCH_JSON"], "w") as f:
                json.dump({"meta": meta, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
