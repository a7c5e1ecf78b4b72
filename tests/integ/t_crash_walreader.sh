#!/bin/bash
# kill -9 of the walreader under a steady workload, five times at random
# moments: the supervisor logs the death and starts a new walreader (a new
# pid with the walreader's title) each time; no restore made after a restart
# holds fewer rows than one made just before the kill (nothing acknowledged
# is lost); at the end the replica restores to exactly the database's
# content with a clean integrity check. Whether the generation went on after
# each restart is printed, with the WAL's size while no walreader ran: below
# SQLite's auto-checkpoint (1000 frames) nobody else can have restarted the
# WAL, so a new generation there is reported as avoidable (not a failure).
# KILLS=N in the environment changes the number of kills (5).
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
URL="file://$T/replica"
WR_TITLE="walship: walreader $DB"
: "${KILLS:=5}"
mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
PAGE=$(sqlite3 "$DB" 'PRAGMA page_size')
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    min-checkpoint-page-count: 100
    replicas:
      - name: r1
        type: file
        path: $T/replica
        sync-interval: 200ms
YML

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
wait_for 20 bash -c "ls $T/replica/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
	fail "no snapshot uploaded: $(tail -5 "$T/walship.log")"
bg_writer writer "$DB" 180

# replica_reaches MIN FLOOR: a restore holds at least MIN rows. Any restore
# that succeeds with fewer than FLOOR rows fails the scenario at once.
replica_reaches() {
	local n
	n=$(replica_rows "$URL") || return 1
	[ "$n" -ge "$2" ] || fail "a restore holds $n rows, fewer than the $2 the replica held before the kill"
	[ "$n" -ge "$1" ]
}
wal_frames() {
	local sz
	sz=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
	echo $(((sz > 32 ? sz - 32 : 0) / (PAGE + 24)))
}
count_lines() {
	grep -c -- "$1" "$T/walship.log" || true
}

wait_for 20 replica_reaches 1 0 || fail "the replica never got a row"

MAXR=0
CONTINUED=0
AVOIDABLE=()
for i in $(seq "$KILLS"); do
	old=$(child_pid "$WS_PID" "$WR_TITLE")
	[ -n "$old" ] || fail "kill $i: no walreader running: $(tail -5 "$T/walship.log")"
	gens_before=$(count_lines 'msg="sync: new generation"')
	inits_before=$(count_lines 'msg="initialized db" role=walreader')
	sleep "$(rand_delay)"
	r=$(replica_rows "$URL") || fail "kill $i: restore before the kill failed"
	kill -KILL "$old"
	[ "$r" -le "$MAXR" ] || MAXR=$r
	log "kill $i: walreader $old killed; the replica held $r rows"

	# The supervisor sees the death and starts another walreader; the WAL
	# is watched meanwhile.
	maxf=0
	new=
	new_walreader() {
		local f
		f=$(wal_frames)
		[ "$f" -le "$maxf" ] || maxf=$f
		if grep -q 'msg="child failed, not restarting"' "$T/walship.log"; then
			fail "kill $i: the supervisor gave up on the walreader: $(grep 'child failed' "$T/walship.log")"
		fi
		new=$(child_pid "$WS_PID" "$WR_TITLE")
		[ -n "$new" ] && [ "$new" != "$old" ]
	}
	# The restart delay doubles from 1 s up to 60 s (+10% jitter); the fifth
	# death in ten minutes goes straight to the longest.
	wait_for 80 new_walreader || fail "kill $i: no new walreader: $(tail -5 "$T/walship.log")"
	wait_for 10 grep -q "msg=\"child exited\" role=supervisor child=walreader db=$DB pid=$old status=\"killed by signal SIGKILL\"" \
		"$T/walship.log" || fail "kill $i: the death of $old is not logged"
	[ "$(count_lines 'msg="restarting child" role=supervisor child=walreader')" -eq "$i" ] ||
		fail "kill $i: no restart of the walreader logged"
	wait_for 10 grep -q "msg=\"starting child\" role=supervisor child=walreader db=$DB pid=$new\$" "$T/walship.log" ||
		fail "kill $i: the start of $new is not logged"
	wait_for 20 bash -c "[ \$(grep -c 'msg=\"initialized db\" role=walreader' $T/walship.log) -gt $inits_before ]" ||
		fail "kill $i: the new walreader did not open the database: $(tail -5 "$T/walship.log")"
	log "kill $i: walreader $new started; the WAL reached $maxf frames meanwhile"

	# Replication goes on: the replica reaches what the database held now.
	now=$(sqlite3 "$DB" 'SELECT count(*) FROM t')
	wait_for 30 replica_reaches "$now" "$r" ||
		fail "kill $i: the replica did not reach $now rows: $(tail -5 "$T/walship.log")"

	gens_after=$(count_lines 'msg="sync: new generation"')
	if [ "$gens_after" -eq "$gens_before" ]; then
		CONTINUED=$((CONTINUED + 1))
		log "kill $i: the generation continued"
	else
		why=$(grep 'msg="sync: new generation"' "$T/walship.log" | tail -1)
		log "kill $i: a new generation started: $why"
		[ "$maxf" -ge 900 ] || AVOIDABLE+=("kill $i (WAL at $maxf frames): $why")
	fi
done

stop_writer "$WRITER_PID"
wait_for 40 restore_matches "$T/replica" "$DB" ||
	fail "the replica did not catch up: $(tail -10 "$T/walship.log")"
"$WALSHIP" restore -o "$T/final.db" "$URL" >/dev/null 2>&1 || fail "final restore failed"
assert_eq "$(table_sum "$T/final.db")" "$(table_sum "$DB")" "final restore"
assert_eq "$(integrity "$T/final.db")" ok "integrity of the final restore"
FINAL=$(sqlite3 "$T/final.db" 'SELECT count(*) FROM t')
[ "$FINAL" -ge "$MAXR" ] || fail "the final replica holds $FINAL rows, fewer than $MAXR held before a kill"
log "final: $FINAL rows; the generation continued after $CONTINUED of $KILLS restarts; replica generations: $(ls "$T/replica/generations" | wc -l)"
for a in "${AVOIDABLE[@]}"; do
	echo "FINDING: new generation though no other process could have restarted the WAL: $a"
done
echo "crash walreader ok"
