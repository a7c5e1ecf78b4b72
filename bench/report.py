"""The results table of make bench, from the list of runs bench.py made.

Each figure is the median over the repetitions with (min-max) beside it;
a ratio is walship's median over Litestream's. PASS/MISS compares with the
targets and is information only.
"""
import statistics

TOOLS = ("walship", "litestream")
LAG_TARGET_MS = 1250  # sync-interval 1 s + 250 ms


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def cell(xs, fmt):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    m = fmt % statistics.median(xs)
    if len(xs) == 1:
        return m
    return "%s (%s-%s)" % (m, fmt % min(xs), fmt % max(xs))


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, f, scale=1):
    return "n/a" if v is None else f % (v * scale)


def verdict(ok):
    if ok is None:
        return "n/a"
    return "PASS" if ok else "MISS"


def row(label, ws, ls, rat=None, target="", ok=None):
    r = "%.2f" % rat if rat is not None else ""
    return "  %-30s %-22s %-22s %-6s %-16s %s" % (
        label, ws, ls, r, target, verdict(ok) if target else "")


def one_line(r):
    if "writer" not in r:
        return "%s: no result; %s" % (r["tool"], "; ".join(r["problems"]))
    lag = r.get("lag_s")
    per = ", ".join("%s %.2f" % kv for kv in
                    sorted(r.get("cpu_by_process", {}).items()))
    return ("%s: %.0f tx/s, CPU %.2f s/10k tx (%.2f s: %s), peak RSS %.1f MB"
            " (Pss %.1f), lag %s, replica %.1f MB, machine busy %.2f cores%s%s"
            % (
                r["tool"], r["writer"]["tps"], r["cpu_per_10k"], r["cpu_s"],
                per,
                r["peak_rss_kb"] / 1024.0, r["peak_pss_kb"] / 1024.0,
                "%.0f ms" % (lag * 1e3) if lag is not None else "none",
                r.get("replica_mb", 0), r.get("machine_busy_cores", 0),
                ", S3 %.0f requests/h writing, %s idle" % (
                    r["s3_per_hour"], fmt(r.get("s3_idle_per_hour"), "%.0f"))
                if "s3_per_hour" in r else "",
                "; PROBLEMS: " + "; ".join(r["problems"])
                if r["problems"] else ""))


def _workload(lines, runs, name, title, flat, base_name=None):
    """BASE_NAME: the workload whose writer-alone runs are the baseline
    (default: NAME's own)."""
    by = {t: [r for r in runs if r.get("workload") == name and
              r.get("tool") == t and "writer" in r] for t in TOOLS}
    if not any(by.values()):
        return
    base = [r for r in runs if r.get("workload") == (base_name or name) and
            r.get("tool") == "none"]
    lines.append("")
    lines.append(title)
    lines.append("  %-30s %-22s %-22s %-6s %-16s %s" % (
        "", "walship", "litestream", "ratio", "target", ""))

    def col(t, f):
        return [f(r) for r in by[t]]

    cpu = {t: col(t, lambda r: r["cpu_per_10k"]) for t in TOOLS}
    rc = ratio(med(cpu["walship"]), med(cpu["litestream"]))
    lines.append(row("CPU s per 10k tx (tree)", cell(cpu["walship"], "%.3f"),
                     cell(cpu["litestream"], "%.3f"), rc, "ratio <= 0.50",
                     rc <= 0.5 if rc is not None else None))
    cores = {t: col(t, lambda r: r["cpu_s"] / r["window_s"]) for t in TOOLS}
    lines.append(row("  mean cores busy in window", cell(cores["walship"],
                     "%.2f"), cell(cores["litestream"], "%.2f"),
                     ratio(med(cores["walship"]), med(cores["litestream"]))))
    rss = {t: col(t, lambda r: r["peak_rss_kb"] / 1024.0) for t in TOOLS}
    rr = ratio(med(rss["walship"]), med(rss["litestream"]))
    lines.append(row("peak tree RSS, MB", cell(rss["walship"], "%.1f"),
                     cell(rss["litestream"], "%.1f"), rr, "ratio <= 0.50",
                     rr <= 0.5 if rr is not None else None))
    pss = {t: col(t, lambda r: r["peak_pss_kb"] / 1024.0) for t in TOOLS}
    lines.append(row("  peak tree Pss, MB (info)", cell(pss["walship"],
                     "%.1f"), cell(pss["litestream"], "%.1f"),
                     ratio(med(pss["walship"]), med(pss["litestream"]))))
    lag = {t: col(t, lambda r: r["lag_s"] * 1e3
                  if r.get("lag_s") is not None else None) for t in TOOLS}
    lw = med(lag["walship"])
    missing = {t: sum(1 for x in lag[t] if x is None) for t in TOOLS}
    lines.append(row("lag after last commit, ms", cell(lag["walship"], "%.0f")
                     + (" +%d none" % missing["walship"]
                        if missing["walship"] else ""),
                     cell(lag["litestream"], "%.0f")
                     + (" +%d none" % missing["litestream"]
                        if missing["litestream"] else ""),
                     ratio(lw, med(lag["litestream"])),
                     "walship <= %d" % LAG_TARGET_MS,
                     lw is not None and lw <= LAG_TARGET_MS
                     and not missing["walship"]))
    tps = {t: col(t, lambda r: r["writer"]["tps"]) for t in TOOLS}
    btps = [b["writer"]["tps"] for b in base]
    lines.append(row("writer tx/s", cell(tps["walship"], "%.0f"),
                     cell(tps["litestream"], "%.0f"),
                     ratio(med(tps["walship"]), med(tps["litestream"]))))
    lines.append("  %-30s %s" % ("  writer alone, tx/s", cell(btps, "%.0f")))
    # Relative throughput: each replicated run over the writer-alone run of
    # the same repetition (steady has one baseline for all repetitions).
    rel = {}
    for t in TOOLS:
        rel[t] = []
        for r in by[t]:
            b = [x for x in base if x.get("rep", 0) == r.get("rep", 0)] or base
            if b:
                rel[t].append(r["writer"]["tps"] / b[0]["writer"]["tps"])
    rw, rl = med(rel["walship"]), med(rel["litestream"])
    # Writer overhead: with a fixed schedule (steady) every run reaches the
    # same rate, so the overhead shows in the time a commit takes instead.
    lines.append(row("writer tx/s vs alone", cell(rel["walship"], "%.3f"),
                     cell(rel["litestream"], "%.3f"), ratio(rw, rl),
                     "walship >= ls" if flat else "",
                     rw >= rl if rw is not None and rl is not None else None))
    for key, label in (("lat_mean_ms", "commit mean"),
                       ("lat_p99_ms", "commit p99")):
        v = {t: col(t, lambda r: r["writer"].get(key)) for t in TOOLS}
        mw, ml = med(v["walship"]), med(v["litestream"])
        target = "walship <= ls" if key == "lat_mean_ms" and not flat else ""
        lines.append(row(label + ", ms", cell(v["walship"], "%.3f"),
                         cell(v["litestream"], "%.3f"), ratio(mw, ml), target,
                         mw <= ml if mw is not None and ml is not None
                         else None))
        lines.append("  %-30s %s" % ("  writer alone, %s ms" % label,
                                     cell([b["writer"].get(key)
                                           for b in base], "%.3f")))
    rep = {t: col(t, lambda r: r.get("replica_mb")) for t in TOOLS}
    lines.append(row("replica size, MB (info)", cell(rep["walship"], "%.1f"),
                     cell(rep["litestream"], "%.1f"),
                     ratio(med(rep["walship"]), med(rep["litestream"]))))
    for key, label in (("s3_per_hour", "S3 requests/hour, writing"),
                       ("s3_idle_per_hour", "S3 requests/hour, idle")):
        v = {t: col(t, lambda r: r.get(key)) for t in TOOLS}
        if not any(x is not None for t in TOOLS for x in v[t]):
            continue
        mw, ml = med(v["walship"]), med(v["litestream"])
        lines.append(row(label, cell(v["walship"], "%.0f"),
                         cell(v["litestream"], "%.0f"), ratio(mw, ml),
                         "ratio <= 0.50", mw <= 0.5 * ml
                         if mw is not None and ml is not None else None))
    ops = {}
    for t in TOOLS:
        for r in by[t]:
            for op, n in r.get("s3_requests", {}).items():
                ops.setdefault(op, {}).setdefault(t, []).append(
                    n * 3600.0 / r["window_s"])
    for op in sorted(ops):
        lines.append(row("  %s/hour, writing" % op.upper(),
                         cell(ops[op].get("walship", []), "%.0f"),
                         cell(ops[op].get("litestream", []), "%.0f")))
    pids = {t: col(t, lambda r: r["pids_seen"]) for t in TOOLS}
    lines.append(row("processes seen (restarts add)", cell(pids["walship"],
                     "%d"), cell(pids["litestream"], "%d")))


def _restore(lines, r):
    lines.append("")
    lines.append("RESTORE (%.0f MB database, %s replica)"
                 % (r.get("db_bytes", 0) / 1e6, "S3 (s3rver)"
                    if r["workload"] == "s3-restore" else "directory"))
    lines.append("  %-30s %-22s %-22s %-6s %-16s %s" % (
        "", "walship", "litestream", "ratio", "target", ""))

    def get(restorer, owner, f):
        return [f(x) for x in r["restores"] if x["restorer"] == restorer and
                x["replica"] == owner and x["rc"] == 0]

    own = {t: get(t, t, lambda x: x["mb_s"]) for t in TOOLS}
    ro = ratio(med(own["walship"]), med(own["litestream"]))
    lines.append(row("own replica, MB/s", cell(own["walship"], "%.0f"),
                     cell(own["litestream"], "%.0f"), ro, "ratio >= 1.50",
                     ro >= 1.5 if ro is not None else None))
    secs = {t: get(t, t, lambda x: x["wall_s"]) for t in TOOLS}
    lines.append(row("  own replica, s", cell(secs["walship"], "%.2f"),
                     cell(secs["litestream"], "%.2f"),
                     ratio(med(secs["walship"]), med(secs["litestream"]))))
    other = {"walship": get("walship", "litestream", lambda x: x["mb_s"]),
             "litestream": get("litestream", "walship", lambda x: x["mb_s"])}
    lines.append(row("other's replica, MB/s", cell(other["walship"], "%.0f"),
                     cell(other["litestream"], "%.0f"),
                     ratio(med(other["walship"]), med(other["litestream"]))))
    cpu = {t: get(t, t, lambda x: x["cpu_s"]) for t in TOOLS}
    lines.append(row("  own replica, CPU s", cell(cpu["walship"], "%.2f"),
                     cell(cpu["litestream"], "%.2f"),
                     ratio(med(cpu["walship"]), med(cpu["litestream"]))))
    mx = {t: get(t, t, lambda x: x["maxrss_kb"] / 1024.0
                 if x["maxrss_kb"] is not None else None) for t in TOOLS}
    lines.append(row("  own replica, max RSS MB", cell(mx["walship"], "%.1f"),
                     cell(mx["litestream"], "%.1f"),
                     ratio(med(mx["walship"]), med(mx["litestream"]))))
    ini = r.get("initial", {})
    for label, key, fmt, scale in (
            ("initial snapshot after, s", "snapshot_s", "%.2f", 1),
            ("initial sync CPU s (tree)", "cpu_s", "%.2f", 1),
            ("initial sync peak RSS, MB", "peak_rss_kb", "%.1f", 1 / 1024.0),
            ("replica size, MB", "replica_mb", "%.1f", 1)):
        v = {t: ini.get(t, {}).get(key) for t in TOOLS}
        lines.append(row(label + " (info)",
                         fmt % (v["walship"] * scale) if v["walship"]
                         is not None else "n/a",
                         fmt % (v["litestream"] * scale) if v["litestream"]
                         is not None else "n/a",
                         ratio(v["walship"], v["litestream"])))


def _age(lines, r):
    """Client-side encryption: each variant once."""
    lines.append("")
    lines.append("AGE (client-side encryption; steady %g s at the steady rate,"
                 " restore of a %.0f MB database)" % (
                     r.get("secs", 0), r.get("db_bytes", 0) / 1e6))
    lines.append("  %-16s %18s %14s" % ("", "CPU s per 10k tx", "restore MB/s"))
    for label in ("walship", "walship age", "litestream age"):
        st = r.get("steady", {}).get(label, {})
        rs = r.get("restore", {}).get(label, {})
        lines.append("  %-16s %18s %14s" % (
            label, fmt(st.get("cpu_per_10k"), "%.2f"),
            fmt(rs.get("mb_s"), "%.0f")))


def render(meta, runs):
    lines = []
    lines.append("walship vs Litestream v0.3.13 (%s mode, %d repetition(s),"
                 " %d CPUs, started %s, took %.0f s)" % (
                     "quick" if meta["quick"] else "full", meta["reps"],
                     meta["cpus"], meta["started"], meta.get("elapsed_s", 0)))
    if meta.get("aborted"):
        lines.append("INCOMPLETE: the bench stopped early (%s)"
                     % meta["aborted"])
    for t, d in sorted(meta.get("binaries", {}).items()):
        lines.append("  %-10s %s" % (t, d))
    lines.append("Figures: median (min-max) over the repetitions; ratio ="
                 " walship / Litestream of the medians.")
    lines.append("Directory replicas, sync-interval 1s, monitor-interval 1s"
                 " (default). PASS/MISS is information only.")
    _workload(lines, runs, "steady", "STEADY (%d tx/s x 10 rows, %d s)" % (
        meta["steady_rate"], meta["steady_secs"]), False)
    _workload(lines, runs, "flat", "FLAT-OUT (one writer, 10 rows/tx, %d s)"
              % meta["flat_secs"], True)
    for r in runs:
        if r.get("workload") == "restore":
            _restore(lines, r)
        if r.get("workload") == "age":
            _age(lines, r)
    _workload(lines, runs, "s3-steady", "S3 STEADY (%d tx/s x 10 rows, %d s;"
              " then %d s idle; s3rver on 127.0.0.1)" % (
                  meta["steady_rate"], meta["steady_secs"],
                  meta.get("idle_secs", 0)), False, "steady")
    _workload(lines, runs, "s3-flat", "S3 FLAT-OUT (one writer, 10 rows/tx,"
              " %d s)" % meta["flat_secs"], True, "flat")
    for r in runs:
        if r.get("workload") == "s3-restore":
            _restore(lines, r)
    probs = [(r.get("tool", r.get("workload")), r.get("workload"),
              r.get("rep", 0), p) for r in runs for p in r.get("problems", [])]
    lines.append("")
    lines.append("PROBLEMS" + ("" if probs else ": none seen"))
    for tool, wl, rep, p in probs:
        lines.append("  %s %s #%d: %s" % (tool, wl, rep + 1, p))
    lines.append("")
    lines.append("RUNS")
    for r in runs:
        if r.get("workload") == "age":
            continue  # its section above is the whole of it
        if r.get("workload") in ("restore", "s3-restore"):
            for x in r["restores"]:
                lines.append("  %s #%d %s <- %s replica: %s" % (
                    r["workload"], x["rep"] + 1, x["restorer"], x["replica"],
                    "%.2f s, %.0f MB/s, CPU %s s, max RSS %s MB" % (
                        x["wall_s"], x["mb_s"], fmt(x["cpu_s"], "%.2f"),
                        fmt(x["maxrss_kb"], "%.1f", 1 / 1024.0))
                    if x["rc"] == 0 else "exit %d" % x["rc"]))
        elif r.get("tool") == "none":
            lines.append("  %s #%d writer alone: %.0f tx/s, p99 %.2f ms" % (
                r["workload"], r.get("rep", 0) + 1, r["writer"]["tps"],
                r["writer"]["lat_p99_ms"]))
        else:
            lines.append("  %s #%d %s" % (r["workload"], r.get("rep", 0) + 1,
                                          one_line(r)))
    lines.append("")
    lines.append(METHOD)
    return "\n".join(lines) + "\n"


METHOD = """\
METHOD
  CPU: every 100 ms (and at both edges of the window) the replicator's
    process tree is found in /proc (the root pid and all its descendants)
    and utime+stime+cutime+cstime of every member is summed: a process
    counts through its own fields while alive and through its parent's
    cutime/cstime once reaped, so restarted children keep counting. The
    window runs from the writer's start until the last row is found in the
    replica; CPU per 10k tx = tree CPU in the window * 10000 / transactions.
  RSS: the VmRSS of every tree member is summed at each 100 ms poll; the
    peak is the largest sum from the replicator's start to the end of the
    window. Pss (shared pages split between the processes) beside it.
  Lag: the writer's last row carries a unique marker and the writer
    records the wall time of its last COMMIT. The replica directory is then
    polled every 20 ms; each new object is stamped with the poll that first
    saw it (objects already there: their mtime), decompressed with lz4 and
    searched for the marker. Lag = stamp of the first object holding the
    marker - last commit; resolution about 20-40 ms.
  Writer: one Python sqlite3 process, WAL mode, synchronous=NORMAL,
    BEGIN IMMEDIATE + 10 INSERTs + COMMIT per transaction, on a fresh
    database each run; its throughput is compared with the writer alone
    (flat-out: the writer-alone run of the same repetition). Steady runs
    all reach 200 tx/s, so their overhead target is the mean commit time.
  Restore: wall time of `TOOL restore -o OUT -config CFG DB` after sync(2),
    output on the same disk; MB/s = restored file size / wall time. The
    first restore of each (tool, replica) pair is checked (row count, sums,
    integrity_check). CPU and max RSS of the restore process from GNU
    time (it forks the restore from its own small image).
  Each steady run and the first flat-out run per tool also restore their
    replica with the same tool and compare the table with the database.
  S3: the same workloads with an S3 replica on a fresh s3rver (Node.js,
    127.0.0.1) per run; s3rver's own CPU is not counted. Requests are
    counted at the server (its request log) over the measurement window
    and, after a steady run, over an idle window with no writes; both are
    scaled to an hour. The lag probe reads the objects from s3rver's
    filesystem store, where each object is one file.
  Noise: "machine busy" in RUNS is the busy CPU of the whole machine over
    the window (/proc/stat): the writer, the replicator, this harness and
    anything else running; on 2 CPUs other work shows up there."""
