#!/bin/bash
# kill -9 of one uploader under a steady workload, five times at random
# moments: the supervisor logs the death and starts a new uploader for that
# replica (a new pid with the uploader's title) each time; no restore of
# that replica made after a restart holds fewer rows than one made just
# before the kill; the other replica keeps up meanwhile; at the end both
# restore to exactly the database's content with a clean integrity check.
# An uploader's death has no reason to start a generation: the number of
# generations is printed.
# KILLS=N in the environment changes the number of kills (5).
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
URL="file://$T/r1"
UP_TITLE="walship: uploader $DB -> r1"
: "${KILLS:=5}"
mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    min-checkpoint-page-count: 100
    replicas:
      - name: r1
        type: file
        path: $T/r1
        sync-interval: 200ms
      - name: r2
        type: file
        path: $T/r2
        sync-interval: 200ms
YML

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
for r in r1 r2; do
	wait_for 20 bash -c "ls $T/$r/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
		fail "no snapshot uploaded to $r: $(tail -5 "$T/walship.log")"
done
bg_writer writer "$DB" 180

# replica_reaches URL MIN FLOOR: a restore of URL holds at least MIN rows.
# Any restore that succeeds with fewer than FLOOR rows fails at once.
replica_reaches() {
	local n
	n=$(replica_rows "$1") || return 1
	[ "$n" -ge "$3" ] || fail "a restore of $1 holds $n rows, fewer than the $3 it held before the kill"
	[ "$n" -ge "$2" ]
}
count_lines() {
	grep -c -- "$1" "$T/walship.log" || true
}

wait_for 20 replica_reaches "$URL" 1 0 || fail "the replica never got a row"

MAXR=0
for i in $(seq "$KILLS"); do
	old=$(child_pid "$WS_PID" "$UP_TITLE")
	[ -n "$old" ] || fail "kill $i: no uploader for r1 running: $(tail -5 "$T/walship.log")"
	sleep "$(rand_delay)"
	r=$(replica_rows "$URL") || fail "kill $i: restore before the kill failed"
	kill -KILL "$old"
	[ "$r" -le "$MAXR" ] || MAXR=$r
	log "kill $i: uploader $old killed; r1 held $r rows"

	# While r1's uploader is down (or starting), r2 stays current.
	now=$(sqlite3 "$DB" 'SELECT count(*) FROM t')
	wait_for 10 replica_reaches "file://$T/r2" "$now" 0 ||
		fail "kill $i: r2 did not reach $now rows while r1's uploader was down"

	new=
	new_uploader() {
		if grep -q 'msg="child failed, not restarting"' "$T/walship.log"; then
			fail "kill $i: the supervisor gave up on the uploader: $(grep 'child failed' "$T/walship.log")"
		fi
		new=$(child_pid "$WS_PID" "$UP_TITLE")
		[ -n "$new" ] && [ "$new" != "$old" ]
	}
	# The restart delay doubles from 1 s up to 60 s (+10% jitter); the fifth
	# death in ten minutes goes straight to the longest.
	wait_for 80 new_uploader || fail "kill $i: no new uploader: $(tail -5 "$T/walship.log")"
	wait_for 10 grep -q "msg=\"child exited\" role=supervisor child=uploader db=$DB replica=r1 pid=$old status=\"killed by signal SIGKILL\"" \
		"$T/walship.log" || fail "kill $i: the death of $old is not logged"
	[ "$(count_lines 'msg="restarting child" role=supervisor child=uploader db=[^ ]* replica=r1 ')" -eq "$i" ] ||
		fail "kill $i: no restart of r1's uploader logged"
	wait_for 10 grep -q "msg=\"starting child\" role=supervisor child=uploader db=$DB replica=r1 pid=$new\$" "$T/walship.log" ||
		fail "kill $i: the start of $new is not logged"
	log "kill $i: uploader $new started"

	now=$(sqlite3 "$DB" 'SELECT count(*) FROM t')
	wait_for 30 replica_reaches "$URL" "$now" "$r" ||
		fail "kill $i: r1 did not reach $now rows: $(tail -5 "$T/walship.log")"
done

stop_writer "$WRITER_PID"
for r in r1 r2; do
	wait_for 40 restore_matches "$T/$r" "$DB" ||
		fail "$r did not catch up: $(tail -10 "$T/walship.log")"
	"$WALSHIP" restore -o "$T/final-$r.db" "file://$T/$r" >/dev/null 2>&1 || fail "final restore of $r failed"
	assert_eq "$(table_sum "$T/final-$r.db")" "$(table_sum "$DB")" "final restore of $r"
	assert_eq "$(integrity "$T/final-$r.db")" ok "integrity of the final restore of $r"
done
FINAL=$(sqlite3 "$T/final-r1.db" 'SELECT count(*) FROM t')
[ "$FINAL" -ge "$MAXR" ] || fail "r1 holds $FINAL rows at the end, fewer than $MAXR held before a kill"
log "final: $FINAL rows; generations: r1 $(ls "$T/r1/generations" | wc -l), r2 $(ls "$T/r2/generations" | wc -l), new generation lines: $(count_lines 'msg="sync: new generation"')"
echo "crash uploader ok"
