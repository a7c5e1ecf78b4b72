#!/bin/bash
# Design rule 4: the shadow log has a cap. A replica that cannot keep up (its
# uploader is stopped) holds the shadow log back until the cap; then it is
# marked broken (logged) and what only it needed is dropped, while the other
# replica carries on in the same generation. When the stuck replica comes
# back, one new generation starts and it catches up from its snapshot.
. "$(dirname "$0")/lib.sh"

DB="$T/app.db"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    min-checkpoint-page-count: 200
    shadow-max-size: 4MiB
    replicas:
      - name: good
        type: file
        path: $T/good
        sync-interval: 200ms
      - name: stuck
        type: file
        path: $T/stuck
        sync-interval: 200ms
YML
spawn walship "$WALSHIP" replicate -config "$T/w.yml"
wait_for 20 bash -c "ls $T/stuck/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
	fail "no snapshot: $(tail -5 "$T/walship.log")"
UPL=$(pgrep -f "walship: uploader $DB -> stuck") || fail "no stuck uploader"
kill -STOP "$UPL"

log "about 12 MB of writes while one uploader is stopped"
python3 - "$DB" <<'PY'
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
for b in range(30):
    c.execute("BEGIN")
    for i in range(100):
        c.execute("INSERT INTO t(v) VALUES (?)", ("z" * 4000,))
    c.execute("COMMIT")
    time.sleep(0.05)
PY
wait_for 30 grep -q "shadow log cap reached" "$T/walship.log" ||
	fail "the cap was not enforced"
grep "shadow log cap reached" "$T/walship.log" | head -2
grep "cap reached" "$T/walship.log" | grep -q "replica=stuck" || fail "the stuck replica is not named"
grep "cap reached" "$T/walship.log" | grep -q "replica=good" && fail "the current replica was blamed"
[ "$(ls "$T/good/generations" | wc -l)" -eq 1 ] || fail "the cap started a generation for everyone"
META="$T/.app.db-litestream"
SHADOW=$(du -sb "$META/generations" | cut -f1)
echo "shadow log now $SHADOW bytes"
[ "$SHADOW" -lt $((8 * 1024 * 1024)) ] || fail "the shadow log was not freed: $SHADOW bytes"
wait_for 30 restore_matches "$T/good" "$DB" || fail "the good replica is not current"

log "the stuck uploader resumes and catches up from the new generation"
kill -CONT "$UPL"
wait_for 30 grep -q "replica is back after the shadow log cap" "$T/walship.log" ||
	fail "the stuck replica was not seen coming back"
wait_for 60 restore_matches "$T/stuck" "$DB" || fail "the stuck replica did not catch up"
wait_for 30 restore_matches "$T/good" "$DB" || fail "the good replica is not current"
NGEN=$(grep -c "sync: new generation" "$T/walship.log")
[ "$NGEN" -eq 2 ] || fail "expected the first generation and one more, got $NGEN"
echo "cap enforced, both replicas current"
