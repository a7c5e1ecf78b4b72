"""CPU and memory of a replicator's whole process tree, read from /proc.

A Sampler thread polls every `interval` seconds (0.1 s by default). At each
poll it finds the tree: the root pid and every process whose chain of
parents leads to it (one pass over /proc/[0-9]*/stat). For each member it
reads /proc/PID/stat, /proc/PID/status (VmRSS) and /proc/PID/smaps_rollup
(Pss).

CPU. The tree's cumulative CPU at one poll is

    sum over members of (utime + stime + cutime + cstime) / CLK_TCK

A member's own utime+stime covers its life so far; cutime+cstime covers
its children that exited and that it reaped (the kernel adds a reaped
child's utime+cutime into the parent's cutime). A child that is
restarted therefore keeps counting: while it lives through its own
fields, once reaped through its parent's. The figure is exact at each poll
(to the 10 ms tick), whatever happened between polls; a process reaped by
someone outside the tree (an orphan adopted by init) would be lost, which
neither tool does. A run's CPU is the difference between two polls taken
synchronously at the window's edges (sample_now()).
Every pid ever seen is kept with its largest own utime+stime, so restarted
children show up as extra pids.

Memory. At each poll the VmRSS of all members is summed, and the largest
sum is the peak tree RSS. RSS counts shared pages (the binary, libc) once
per process; the Pss sum, which splits shared pages between the processes
sharing them, is kept beside it as information.
"""
import os
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _parse_stat(data):
    # The command name is in parentheses and may hold spaces: split after
    # the last ')'. Fields after it start at field 3 (state).
    rest = data[data.rindex(b")") + 2:].split()
    ppid = int(rest[1])
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
    starttime = int(rest[19])
    return ppid, utime + stime, cutime + cstime, starttime


def _kb_field(data, name):
    if not data:
        return 0
    i = data.find(name)
    if i < 0:
        return 0
    return int(data[i + len(name):].split()[0])


def _name(pid):
    """A short name: the process title walship's children set
    ("walship: walreader /db" -> "walreader"), else the program's name."""
    data = _read("/proc/%d/cmdline" % pid) or b"?"
    words = data.replace(b"\0", b" ").decode(errors="replace").split()
    if not words:
        return "?"
    if words[0].endswith(":") and len(words) > 1:
        return words[1]
    name = os.path.basename(words[0])
    # walship's supervisor keeps its command line: name it by its role.
    return "supervisor" if name == "walship" else name


def tree(root):
    """Pids of root and all its descendants, with their parsed stat."""
    stats = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        data = _read("/proc/%s/stat" % d)
        if data:
            try:
                stats[int(d)] = _parse_stat(data)
            except (ValueError, IndexError):
                pass
    members = {}
    if root not in stats:
        return members
    children = {}
    for pid, st in stats.items():
        children.setdefault(st[0], []).append(pid)
    todo = [root]
    while todo:
        pid = todo.pop()
        members[pid] = stats[pid]
        todo.extend(children.get(pid, []))
    return members


class Sampler(threading.Thread):
    def __init__(self, root, interval=0.1, pss=True):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.pss = pss
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.samples = []  # (time, cpu_s, rss_kb, pss_kb, nproc)
        self.seen = {}  # (pid, starttime) -> max own cpu ticks
        self.names = {}  # (pid, starttime) -> short name
        self.last_per = {}  # (pid, starttime) -> own cpu ticks, last poll

    def sample_now(self):
        with self.lock:
            members = tree(self.root)
            cpu = 0
            rss = 0
            pss = 0
            per = {}
            for pid, (ppid, own, kids, start) in members.items():
                cpu += own + kids
                key = (pid, start)
                if own > self.seen.get(key, -1):
                    self.seen[key] = own
                rss += _kb_field(_read("/proc/%d/status" % pid), b"VmRSS:")
                if self.pss:
                    pss += _kb_field(_read("/proc/%d/smaps_rollup" % pid),
                                     b"Pss:")
                if key not in self.names:
                    self.names[key] = _name(pid)
                per[key] = own
            s = (time.time(), cpu / CLK_TCK, rss, pss, len(members))
            self.samples.append(s)
            self.last_per = per
            return s

    def per_process(self, before, after):
        """CPU seconds of each process between two per-pid maps (as
        last_per after sample_now()), summed by process name."""
        out = {}
        for key, own in after.items():
            name = self.names.get(key, "?")
            d = (own - before.get(key, 0)) / CLK_TCK
            out[name] = out.get(name, 0.0) + d
        return out

    def run(self):
        while not self.stop_ev.wait(self.interval):
            self.sample_now()

    def stop(self):
        self.stop_ev.set()
        self.join()

    def peak(self, t0=None, t1=None):
        """(max RSS sum, max Pss sum) in kB over samples in [t0, t1]."""
        rss = pss = 0
        for t, _, r, p, _ in self.samples:
            if (t0 is None or t >= t0) and (t1 is None or t <= t1):
                rss = max(rss, r)
                pss = max(pss, p)
        return rss, pss

    def pids_seen(self):
        return len(self.seen)
