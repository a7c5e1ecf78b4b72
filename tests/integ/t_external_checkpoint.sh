#!/bin/bash
# The database changes behind walship's back while it is stopped (SIGTERM):
#  1. rows written, the WAL checkpointed with TRUNCATE by the sqlite3 CLI,
#     more rows written (the last ones left in the WAL);
#  2. the database file replaced by another one, its -wal removed;
#  3. and 4. the same two, but stopped when walship's own checkpoint had just
#     emptied the WAL (the shadow log's last index is then empty and sealed),
#     with nothing left in the WAL afterwards.
# Each time, on the next start a new generation begins (logged as "sync: new
# generation" with a reason other than "no generation exists"), without any
# further write a restore returns the current database, and a restore of the
# previous generation (-generation) returns what the database held when
# walship stopped. Every check runs; the failures are listed at the end.
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
URL="file://$T/replica"
mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null

# plain.yml never checkpoints here (the thresholds are far); ckpt.yml
# checkpoints 200 ms after a write.
for c in plain ckpt; do
	cat >"$T/$c.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
$([ $c = ckpt ] && echo "    checkpoint-interval: 200ms")
    replicas:
      - name: r1
        type: file
        path: $T/replica
        sync-interval: 200ms
YML
done

FAILURES=()
soft_fail() {
	echo "FAIL: $*" >&2
	FAILURES+=("$*")
}
RUN=0
start_walship() {
	RUN=$((RUN + 1))
	spawn "walship-$RUN" "$WALSHIP" replicate -config "$T/$1.yml"
	WS_PID=$SPAWN_PID
	WS_LOG="$T/walship-$RUN.log"
	wait_for 20 grep -qs 'msg="initialized db"' "$WS_LOG" ||
		fail "walship did not open the database: $(tail -5 "$WS_LOG")"
}
stop_walship() {
	kill -TERM "$WS_PID"
	wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
}
generations() {
	ls "$T/replica/generations" 2>/dev/null | sort
}
# The generation the walreader works on (the shadow log's).
current_gen() {
	cat "$T/data/.app.db-litestream/generation"
}
# insert_rows FROM TO: rows FROM..TO with the sqlite3 CLI (its close
# checkpoints and deletes the WAL).
insert_rows() {
	sqlite3 "$DB" "WITH RECURSIVE s(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM s WHERE i < $2)
		INSERT INTO t(id, v) SELECT i, printf('%0200d', i) FROM s;"
}
# insert_rows_keep_wal FROM TO: the same, leaving them in the WAL (the
# process exits without closing the database).
insert_rows_keep_wal() {
	python3 - "$DB" "$1" "$2" <<'PY'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
for i in range(int(sys.argv[2]), int(sys.argv[3]) + 1):
    c.execute("INSERT INTO t(id, v) VALUES (?, ?)", (i, "%0200d" % i))
c.execute("COMMIT")
os._exit(0)
PY
}
# replace_db FROM TO: another WAL-mode database with rows FROM..TO copied over
# the database, its -wal removed.
replace_db() {
	rm -f "$T/other.db"*
	sqlite3 "$T/other.db" "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
		WITH RECURSIVE s(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM s WHERE i < $2)
		INSERT INTO t(id, v) SELECT i, printf('%0150d', i) FROM s;" >/dev/null
	cp "$T/other.db" "$DB"
	rm -f "$DB-wal"
}
wal_size() {
	stat -c %s "$DB-wal" 2>/dev/null || echo 0
}

# run_and_stop CONFIG WRITER_START: walship runs under a workload until the
# replica holds the database; stopped with SIGTERM; OLD_GEN and OLD_SUM
# are what it left. With the ckpt config it is stopped only once its own
# checkpoint emptied the WAL; with plain, the WAL must still hold frames.
run_and_stop() {
	local cfg=$1 start=$2
	start_walship "$cfg"
	wait_for 20 bash -c "ls $T/replica/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
		fail "no snapshot uploaded: $(tail -5 "$WS_LOG")"
	writer "$DB" 1 150 "$start" >/dev/null
	wait_for 20 restore_matches "$T/replica" "$DB" ||
		fail "the replica did not catch up: $(tail -5 "$WS_LOG")"
	if [ "$cfg" = ckpt ]; then
		wait_for 20 bash -c "[ \$(stat -c %s $DB-wal 2>/dev/null || echo 0) -eq 0 ]" ||
			fail "walship did not checkpoint the WAL (size $(wal_size))"
	fi
	stop_walship
	if [ "$cfg" = plain ]; then
		[ "$(wal_size)" -gt 32 ] || fail "precondition: the WAL should hold frames at the stop (size $(wal_size))"
	else
		[ "$(wal_size)" -eq 0 ] || fail "precondition: the WAL should be empty at the stop (size $(wal_size))"
	fi
	OLD_GEN=$(current_gen)
	OLD_SUM=$(table_sum "$DB")
	generations | grep -qx "$OLD_GEN" || fail "generation $OLD_GEN not on the replica"
}

# after_change NAME CONFIG WRITER_START: walship started again after the change; checks
# the new generation and both restores.
after_change() {
	local name=$1 cfg=$2 ngen out
	start_walship "$cfg"
	if wait_for 5 grep -q 'msg="sync: new generation"' "$WS_LOG"; then
		log "$name: $(grep 'msg="sync: new generation"' "$WS_LOG" | sed 's/.*generation=//')"
		grep 'msg="sync: new generation"' "$WS_LOG" | grep -q 'reason="no generation exists"' &&
			soft_fail "$name: the new generation's reason says no generation existed"
	else
		soft_fail "$name: no new generation started ($(grep 'msg="initialized db"' "$WS_LOG" | sed 's/.* generation=/continued generation /'))"
	fi
	ngen=$(current_gen)
	[ "$ngen" != "$OLD_GEN" ] || soft_fail "$name: the walreader still works on generation $OLD_GEN"
	if ! wait_for 10 restore_matches "$T/replica" "$DB"; then
		out=$(replica_rows "$URL" || echo "restore failed")
		soft_fail "$name: a restore does not return the current database: $out rows restored, the database holds $(table_sum "$DB") (count:bytes:ids); replica: $(generations | tr '\n' ' ')"
	fi
	rm -f "$T/old.db"
	if "$WALSHIP" restore -generation "$OLD_GEN" -o "$T/old.db" "$URL" >/dev/null 2>"$T/old.err"; then
		[ "$(table_sum "$T/old.db")" == "$OLD_SUM" ] ||
			soft_fail "$name: generation $OLD_GEN restores to $(table_sum "$T/old.db"), want $OLD_SUM"
		[ "$(integrity "$T/old.db")" == ok ] || soft_fail "$name: integrity of generation $OLD_GEN"
	else
		soft_fail "$name: restore -generation $OLD_GEN failed: $(cat "$T/old.err")"
	fi
	# Replication goes on from there.
	writer "$DB" 1 150 "$3" >/dev/null
	wait_for 20 restore_matches "$T/replica" "$DB" ||
		soft_fail "$name: the replica did not catch up with later writes"
	rm -f "$T/latest.db"
	"$WALSHIP" restore -o "$T/latest.db" "$URL" >/dev/null 2>&1 &&
		[ "$(integrity "$T/latest.db")" == ok ] || soft_fail "$name: latest restore or its integrity"
	stop_walship
}

log "1. external checkpoint, frames left in the WAL"
run_and_stop plain 1
insert_rows 100001 100100
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
insert_rows_keep_wal 100101 100200
after_change "external checkpoint" plain 10001

log "2. database file replaced"
run_and_stop plain 20001
replace_db 200001 200300
after_change "database replaced" plain 30001

log "3. external checkpoint after walship emptied the WAL"
run_and_stop ckpt 40001
insert_rows 300001 300100
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
insert_rows 300101 300200
after_change "external checkpoint, sealed shadow" ckpt 50001

log "4. database file replaced after walship emptied the WAL"
run_and_stop ckpt 60001
replace_db 400001 400300
after_change "database replaced, sealed shadow" ckpt 70001

log "replica generations: $(generations | tr '\n' ' ')"
if [ ${#FAILURES[@]} -gt 0 ]; then
	printf '  - %s\n' "${FAILURES[@]}" >&2
	fail "${#FAILURES[@]} check(s) failed"
fi
echo "external checkpoint ok"
