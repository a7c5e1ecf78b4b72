#!/bin/bash
# A batch too big for one message (more than 1 MiB of new WAL in one pass)
# stays in the shadow log, and the walreader tells the uploaders so: they
# upload it as soon as the walreader has copied it, not at their next
# sync-interval tick. With a 12 s sync-interval and a quiet database, the
# uploader ticks 12 s apart from its start, and its first upload (the new
# generation) comes right after the start; a big transaction written just
# after the first tick must reach the replica long before the second.
. "$(dirname "$0")/lib.sh"

DB="$T/app.db"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);
INSERT INTO t(v) VALUES (randomblob(100));' >/dev/null
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 500ms
    replicas:
      - name: rep
        type: file
        path: $T/rep
        sync-interval: 12s
YML
spawn walship "$WALSHIP" replicate -config "$T/w.yml"
STARTED=$SECONDS
# The generation's first objects do not wait for the first tick either.
wait_for 5 restore_matches "$T/rep" "$DB" ||
	fail "the first upload waited for the uploader's tick: $(tail -3 "$T/walship.log")"

# Just past the uploader's first tick (12 s after its start, with nothing
# new to upload then): its next tick is about 11 s away.
sleep $((13 - (SECONDS - STARTED)))
log "one 3 MB transaction, $((SECONDS - STARTED)) s after the start"
python3 - "$DB" <<'PY' || fail "cannot write the transaction"
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
for i in range(1000):
    c.execute("INSERT INTO t(v) VALUES (?)", (os.urandom(3000),))
c.execute("COMMIT")
PY
WROTE=$SECONDS
wait_for 5 restore_matches "$T/rep" "$DB" ||
	fail "the big batch waited for the uploader's tick"
echo "on the replica within $((SECONDS - WROTE)) s of the commit, $((SECONDS - STARTED)) s after the start"
