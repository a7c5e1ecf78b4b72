#!/bin/bash
# walship restores what Litestream v0.3.13 replicated: the latest state, a
# point in time, an older generation, by config and by URL; and a replica
# with a middle WAL segment missing fails, names the object and writes
# nothing (Litestream itself silently restores older data there).
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
mkdir -p "$T/data"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/ls.yml" <<YML
dbs:
  - path: $DB
    replicas:
      - type: file
        path: $T/replica
        sync-interval: 100ms
YML

run_litestream() {
	spawn litestream "$LITESTREAM" replicate -config "$T/ls.yml"
	LS_PID=$SPAWN_PID
	wait_for 20 grep -q "snapshot written\|wal segment written" "$T/litestream.log" ||
		fail "litestream did not start replicating"
}
stop_litestream() {
	kill -TERM "$LS_PID"
	wait_for 30 bash -c "! kill -0 $LS_PID 2>/dev/null" || fail "litestream did not stop"
}
write_rows() { # FROM TO
	for i in $(seq "$1" "$2"); do
		sqlite3 "$DB" "INSERT INTO t(id, v) VALUES ($i, printf('%0100d', $i));"
	done
}

run_litestream
write_rows 1 100
sleep 1.5
MID=$(rfc3339_now)
MID_SUM=$(table_sum "$DB")
sleep 1.2
write_rows 101 300
sleep 1.5
stop_litestream
OLD_GEN=$(ls "$T/replica/generations")
OLD_SUM=$(table_sum "$DB")

# A second generation: the database changes while Litestream is down.
sqlite3 "$DB" "INSERT INTO t(id, v) VALUES (1000, 'offline');"
run_litestream
write_rows 301 350
sleep 1.5
stop_litestream
NEW_SUM=$(table_sum "$DB")
[ "$(ls "$T/replica/generations" | wc -l)" -eq 2 ] || fail "expected two generations"

log "latest, by config"
"$WALSHIP" restore -config "$T/ls.yml" -o "$T/latest.db" "$DB" || fail "restore failed"
assert_eq "$(table_sum "$T/latest.db")" "$NEW_SUM" "latest content"
assert_eq "$(integrity "$T/latest.db")" ok "integrity"
ls -a "$T" | grep -E 'latest\.db-(wal|shm)|\.tmp' && fail "restore left files behind"

log "point in time $MID"
"$WALSHIP" restore -config "$T/ls.yml" -o "$T/mid.db" -timestamp "$MID" "$DB" ||
	fail "timestamp restore failed"
assert_eq "$(table_sum "$T/mid.db")" "$MID_SUM" "content at $MID"
assert_eq "$(integrity "$T/mid.db")" ok "integrity"

log "older generation $OLD_GEN, by URL"
"$WALSHIP" restore -generation "$OLD_GEN" -o "$T/old.db" "file://$T/replica" ||
	fail "generation restore failed"
assert_eq "$(table_sum "$T/old.db")" "$OLD_SUM" "old generation content"

log "Litestream agrees on the same replica"
"$LITESTREAM" restore -config "$T/ls.yml" -o "$T/ls-latest.db" "$DB" >/dev/null 2>&1
assert_eq "$(table_sum "$T/ls-latest.db")" "$NEW_SUM" "litestream's own restore"

log "existing output is refused, -if-db-not-exists skips"
if "$WALSHIP" restore -config "$T/ls.yml" -o "$T/latest.db" "$DB" 2>/dev/null; then
	fail "restore over an existing file succeeded"
fi
"$WALSHIP" restore -if-db-not-exists -config "$T/ls.yml" -o "$T/latest.db" "$DB" ||
	fail "-if-db-not-exists did not exit 0"

log "no backups: exit 1, or 0 with -if-replica-exists"
if "$WALSHIP" restore -o "$T/none.db" "file://$T/empty-replica" 2>/dev/null; then
	fail "restore from an empty replica succeeded"
fi
"$WALSHIP" restore -if-replica-exists -o "$T/none.db" "file://$T/empty-replica" 2>/dev/null ||
	fail "-if-replica-exists did not exit 0"
[ -e "$T/none.db" ] && fail "a file was written with no backups"

log "a missing middle segment fails loudly"
WALDIR="$T/replica/generations/$OLD_GEN/wal"
MIDSEG=$(ls "$WALDIR" | middle_segment)
[ -n "$MIDSEG" ] || fail "no index with two or more segments"
rm "$WALDIR/$MIDSEG"
if "$WALSHIP" restore -generation "$OLD_GEN" -o "$T/gap.db" "file://$T/replica" 2>"$T/gap.err"; then
	fail "restore with a missing segment succeeded"
fi
cat "$T/gap.err"
grep -q "generations/$OLD_GEN/wal/" "$T/gap.err" || fail "error does not name the object"
[ -e "$T/gap.db" ] && fail "failed restore left the output"
ls -a "$T" | grep -q 'gap\.db' && fail "failed restore left temporary files"
echo "all restores right"
