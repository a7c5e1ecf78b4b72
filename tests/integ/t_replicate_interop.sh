#!/bin/bash
# walship replicates a database under a running workload to a directory
# replica in Litestream's layout: Litestream v0.3.13 restores it to the same
# content with a clean integrity check, at the latest state, at a point in
# time and from an older generation; walship's own restore agrees.
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
mkdir -p "$T/data"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    min-checkpoint-page-count: 50
    replicas:
      - type: file
        path: $T/replica
        sync-interval: 200ms
YML

start_walship() {
	spawn walship "$WALSHIP" replicate -config "$T/w.yml"
	WS_PID=$SPAWN_PID
	wait_for 20 bash -c "ls $T/replica/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
		fail "no snapshot uploaded: $(tail -5 "$T/walship.log")"
}
stop_walship() {
	kill -TERM "$WS_PID"
	wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
}

start_walship
LAST=$(writer "$DB" 4 100)
wait_for 20 restore_matches "$T/replica" "$DB" || fail "replica did not catch up"
sleep 1.1
MID=$(rfc3339_now)
MID_SUM=$(table_sum "$DB")
sleep 1.1
LAST=$(writer "$DB" 3 100 $((LAST + 1)))
wait_for 20 restore_matches "$T/replica" "$DB" || fail "replica did not catch up"
stop_walship
OLD_GEN=$(ls "$T/replica/generations")
OLD_SUM=$(table_sum "$DB")
[ "$(echo "$OLD_GEN" | wc -l)" -eq 1 ] || fail "expected one generation, got: $OLD_GEN"

log "the database changes while walship is down: a new generation"
sqlite3 "$DB" "INSERT INTO t(id, v) VALUES (1000000, 'offline'); PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
start_walship
writer "$DB" 2 100 $((LAST + 1)) >/dev/null
wait_for 20 restore_matches "$T/replica" "$DB" || fail "replica did not catch up"
stop_walship
NEW_SUM=$(table_sum "$DB")
[ "$(ls "$T/replica/generations" | wc -l)" -eq 2 ] || fail "expected a second generation"

cat >"$T/ls.yml" <<YML
dbs:
  - path: $DB
    replicas:
      - type: file
        path: $T/replica
YML
log "Litestream restores the latest state"
"$LITESTREAM" restore -config "$T/ls.yml" -o "$T/ls-latest.db" "$DB" >"$T/ls1.log" 2>&1 ||
	fail "litestream restore failed: $(cat "$T/ls1.log")"
assert_eq "$(table_sum "$T/ls-latest.db")" "$NEW_SUM" "litestream latest"
assert_eq "$(integrity "$T/ls-latest.db")" ok "integrity"

log "Litestream restores the older generation"
"$LITESTREAM" restore -config "$T/ls.yml" -generation "$OLD_GEN" -o "$T/ls-old.db" "$DB" >"$T/ls2.log" 2>&1 ||
	fail "litestream restore -generation failed: $(cat "$T/ls2.log")"
assert_eq "$(table_sum "$T/ls-old.db")" "$OLD_SUM" "litestream old generation"

log "Litestream restores a point in time ($MID)"
"$LITESTREAM" restore -config "$T/ls.yml" -generation "$OLD_GEN" -timestamp "$MID" -o "$T/ls-mid.db" "$DB" >"$T/ls3.log" 2>&1 ||
	fail "litestream restore -timestamp failed: $(cat "$T/ls3.log")"
assert_eq "$(table_sum "$T/ls-mid.db")" "$MID_SUM" "litestream point in time"
assert_eq "$(integrity "$T/ls-mid.db")" ok "integrity"

log "walship's restore agrees"
"$WALSHIP" restore -config "$T/ls.yml" -o "$T/w-latest.db" "$DB" 2>/dev/null || fail "walship restore failed"
assert_eq "$(table_sum "$T/w-latest.db")" "$NEW_SUM" "walship latest"
"$WALSHIP" restore -config "$T/ls.yml" -timestamp "$MID" -o "$T/w-mid.db" "$DB" 2>/dev/null || fail "walship -timestamp failed"
assert_eq "$(table_sum "$T/w-mid.db")" "$MID_SUM" "walship point in time"

log "the listings agree"
for c in snapshots wal; do
	"$LITESTREAM" $c -config "$T/ls.yml" "$DB" >"$T/$c.l" 2>/dev/null
	"$WALSHIP" $c -config "$T/ls.yml" "$DB" >"$T/$c.w" 2>/dev/null
	assert_same_output "$c" "$T/$c.l" "$T/$c.w"
done
echo "interop ok"
