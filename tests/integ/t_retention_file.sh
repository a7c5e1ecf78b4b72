#!/bin/bash
# Retention on a directory replica, with time compressed (retention 10s,
# checked every 2s, a snapshot every 3s, a checkpoint every 2s so the WAL
# index moves on). While a paced writer records the table's sum at known
# times, the compactor deletes: afterwards every recorded point inside the
# window still restores to its sum (walship, and Litestream for the latest
# state), the old snapshots and the WAL below the oldest kept snapshot are
# gone, and at most one snapshot older than the window is left (the one a
# restore to the window's start needs).
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
R="$T/replica"
mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
logging:
  level: debug
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    checkpoint-interval: 2s
    min-checkpoint-page-count: 8
    replicas:
      - type: file
        path: $R
        sync-interval: 200ms
        snapshot-interval: 3s
        retention: 10s
        retention-check-interval: 2s
YML

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
wait_for 20 bash -c "ls $R/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
	fail "no snapshot: $(tail -5 "$T/walship.log")"

log "writing for about 30 s"
paced_writer "$DB" 26 "$T/points"
wait_for 20 restore_matches "$R" "$DB" || fail "replica did not catch up"
wait_for 20 grep -q 'msg="retention: deleting"' "$T/walship.log" ||
	fail "the compactor deleted nothing: $(grep compactor "$T/walship.log" | tail -5)"
# Let a pass run after the last write, then stop: the window is frozen at
# the last pass, which ran at most 2 s before the stop.
sleep 3
STOP=$(date +%s)
kill -TERM "$WS_PID"
wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
grep -q 'msg="compactor stopped"' "$T/walship.log" || fail "the compactor did not stop cleanly"

N=$(check_points_restore "file://$R" "$T/points" $((STOP - 9)))
log "$N points inside the window restored to their recorded sums"
[ "$N" -ge 4 ] || fail "too few points checked: $N"
rm -f "$T/latest.db"
"$WALSHIP" restore -o "$T/latest.db" "file://$R" >/dev/null 2>&1 || fail "latest restore failed"
assert_eq "$(table_sum "$T/latest.db")" "$(table_sum "$DB")" "latest state"
"$LITESTREAM" restore -o "$T/ls.db" "file://$R" >"$T/ls.log" 2>&1 ||
	fail "litestream cannot restore the trimmed replica: $(cat "$T/ls.log")"
assert_eq "$(table_sum "$T/ls.db")" "$(table_sum "$DB")" "litestream's restore"

# What is left: snapshots (mtime, index) and WAL indexes.
GEN=$(ls "$R/generations")
assert_eq "$(echo "$GEN" | wc -l)" 1 "generations"
SNAPS=$(cd "$R/generations/$GEN/snapshots" && stat -c '%Y %n' *.snapshot.lz4 | sort -n)
log "snapshots left: $(echo "$SNAPS" | awk '{ print $2 }' | tr '\n' ' ')"
MIN_SNAP=$(echo "$SNAPS" | awk '{ print substr($2, 1, 8) }' | sort | head -1)
[ "$MIN_SNAP" != "00000000" ] || fail "the first snapshot was never deleted"
OLD=$(echo "$SNAPS" | awk -v c=$((STOP - 14)) '$1 < c' | wc -l)
[ "$OLD" -le 1 ] || fail "$OLD snapshots older than the window are left: $SNAPS"
BELOW=$(ls "$R/generations/$GEN/wal" | awk -v m="$MIN_SNAP" 'substr($0, 1, 8) < m' | wc -l)
assert_eq "$BELOW" 0 "WAL segments below the oldest snapshot"
[ -z "$(find "$R" -name '*.tmp')" ] || fail "temporary files left in the replica"
echo "retention on a directory replica ok"
