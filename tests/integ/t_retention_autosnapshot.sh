#!/bin/bash
# snapshot-wal-bytes: the walreader cuts a snapshot once the WAL written
# since the last one outgrows the bound (and the database), so a restore
# replays a bounded WAL chain. Two databases take the same workload: the
# one with snapshot-wal-bytes: 1MB gets a snapshot per ~1 MB of WAL, the
# one with 0 (off) keeps its single snapshot; both restore to their latest
# state.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
for d in on off; do
	sqlite3 "$T/data/$d.db" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
done
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $T/data/on.db
    monitor-interval: 100ms
    min-checkpoint-page-count: 100
    snapshot-wal-bytes: 1MB
    replicas:
      - type: file
        path: $T/on
        sync-interval: 200ms
  - path: $T/data/off.db
    monitor-interval: 100ms
    min-checkpoint-page-count: 100
    snapshot-wal-bytes: 0
    replicas:
      - type: file
        path: $T/off
        sync-interval: 200ms
YML

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
wait_for 20 bash -c "ls $T/on/generations/*/snapshots/*.lz4 $T/off/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
	fail "no snapshot: $(tail -5 "$T/walship.log")"
log "about 5 MB of WAL into each database"
writer "$T/data/on.db" 6 100 >/dev/null &
W1=$!
writer "$T/data/off.db" 6 100 >/dev/null
wait "$W1"
wait_for 20 restore_matches "$T/on" "$T/data/on.db" || fail "on: replica did not catch up"
wait_for 20 restore_matches "$T/off" "$T/data/off.db" || fail "off: replica did not catch up"
kill -TERM "$WS_PID"
wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"

snaps() { ls "$T/$1"/generations/*/snapshots/ | wc -l; }
ON=$(snaps on)
OFF=$(snaps off)
log "snapshots: $ON with snapshot-wal-bytes 1MB, $OFF with 0"
assert_eq "$OFF" 1 "snapshots without the bound"
[ "$ON" -ge 2 ] || fail "want a snapshot per ~1 MB of WAL, got $ON snapshots"
grep -q 'msg="snapshot: the wal since the last one is long".*db='"$T/data/on.db" "$T/walship.log" ||
	fail "no log line for the bound"
grep -q 'msg="snapshot: the wal since the last one is long".*db='"$T/data/off.db" "$T/walship.log" &&
	fail "the bound fired with snapshot-wal-bytes: 0"
# The chain a latest restore replays starts at the newest snapshot: no
# more than what follows it in the last ~1 MB of WAL.
GEN=$(ls "$T/on/generations")
NEWEST=$(ls "$T/on/generations/$GEN/snapshots" | sort | tail -1 | cut -c1-8)
CHAIN=$(ls "$T/on/generations/$GEN/wal" | awk -v n="$NEWEST" 'substr($0, 1, 8) >= n' |
	while read -r f; do lz4 -dc "$T/on/generations/$GEN/wal/$f" | wc -c; done | awk '{ s += $1 } END { print s + 0 }')
log "WAL after the newest snapshot: $CHAIN bytes"
[ "$CHAIN" -le $((3 * 1000 * 1000)) ] || fail "the chain after the newest snapshot is $CHAIN bytes"
echo "auto-snapshot bound ok"
