#!/bin/bash
# When PASSIVE put the whole WAL into the database, the walreader leaves the
# WAL for the application's next write to start over (it logs the
# checkpoint as PASSIVE). A writer cannot start it over while another
# reader holds a mark in it: it appends to the same WAL instead. The
# walreader must see that and go on checkpointing; taking that WAL for one
# that waits to start over would leave it to grow for as long as writes
# keep coming.
. "$(dirname "$0")/lib.sh"

start_checkpointing 100ms 100 400

log "a reader holds a mark in the WAL across the walreader's hand-over"
python3 - "$DB" "$T/walship.log" >"$T/py.out" <<'PY'
import os, re, sqlite3, sys, time
db, logf = sys.argv[1], sys.argv[2]
def checkpoints():
    with open(logf) as f:
        return re.findall(r"msg=checkpoint .*mode=([A-Z]+)", f.read())
w = sqlite3.connect(db, isolation_level=None)
r = sqlite3.connect(db, isolation_level=None)
w.execute("BEGIN")
for i in range(150):
    w.execute("INSERT INTO t(v) VALUES (?)", ("a" * 3000,))
w.execute("COMMIT")
# Right after the commit, before the walreader's next sync: the reader's
# mark is the WAL's end, which PASSIVE can reach.
r.execute("BEGIN")
r.execute("SELECT count(*) FROM t").fetchone()
end = time.time() + 10
while time.time() < end and "PASSIVE" not in checkpoints():
    time.sleep(0.05)
if "PASSIVE" not in checkpoints():
    sys.exit("no hand-over: checkpoints %s" % checkpoints())
seen = len(checkpoints())
# The reader's mark keeps the writer from starting the WAL over.
for i in range(40):
    w.execute("BEGIN")
    for j in range(20):
        w.execute("INSERT INTO t(v) VALUES (?)", ("b" * 3000,))
    w.execute("COMMIT")
    time.sleep(0.02)
r.execute("COMMIT")
# Writes go on, never a pause long enough for the idle rule.
end = time.time() + 8
while time.time() < end and len(checkpoints()) == seen:
    w.execute("INSERT INTO t(v) VALUES ('c')")
    time.sleep(0.005)
print("after the hand-over:", checkpoints()[seen:])
if len(checkpoints()) == seen:
    sys.exit("no checkpoint after the hand-over while the WAL grew to %d bytes"
             % os.path.getsize(db + "-wal"))
PY
cat "$T/py.out"
wait_for 30 restore_matches "$T/replica" "$DB" || fail "replica did not catch up"
grep -q "level=ERROR" "$T/walship.log" && fail "errors in the log: $(grep level=ERROR "$T/walship.log" | head -3)"
echo "checkpoints go on after a hand-over the writer could not use"
