#!/bin/bash
# kill -9 of the whole process tree (supervisor, walreader, uploaders: the
# process group) under a steady workload, five times at random moments,
# walship started again after each: no restore made after a restart holds
# fewer rows than one made just before the kill; at the end both replicas
# restore to exactly the database's content with a clean integrity check.
# Whether the generation went on after each restart is printed.
# KILLS=N in the environment changes the number of kills (5).
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
URL="file://$T/r1"
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

# start_walship N: walship's Nth start, logging to walship-N.log.
start_walship() {
	spawn "walship-$1" "$WALSHIP" replicate -config "$T/w.yml"
	WS_PID=$SPAWN_PID
	WS_LOG="$T/walship-$1.log"
	wait_for 20 bash -c "[ -n \"\$(ps -o pid= --ppid $WS_PID)\" ]" ||
		fail "start $1: no children: $(tail -5 "$WS_LOG")"
}
replica_reaches() {
	local n
	n=$(replica_rows "$1") || return 1
	[ "$n" -ge "$3" ] || fail "a restore of $1 holds $n rows, fewer than the $3 it held before the kill"
	[ "$n" -ge "$2" ]
}
gen_lines() {
	cat "$T"/walship-*.log | grep -c 'msg="sync: new generation"' || true
}
no_walship_left() {
	[ -z "$(walship_pids)" ]
}

start_walship 0
for r in r1 r2; do
	wait_for 20 bash -c "ls $T/$r/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
		fail "no snapshot uploaded to $r: $(tail -5 "$WS_LOG")"
done
bg_writer writer "$DB" 180
wait_for 20 replica_reaches "$URL" 1 0 || fail "the replica never got a row"

MAXR=0
CONTINUED=0
for i in $(seq "$KILLS"); do
	gens_before=$(gen_lines)
	sleep "$(rand_delay)"
	r=$(replica_rows "$URL") || fail "kill $i: restore before the kill failed"
	pids=$(walship_pids | tr '\n' ' ')
	kill -KILL -- "-$WS_PID"
	{ wait "$WS_PID"; } 2>/dev/null || true
	[ "$r" -le "$MAXR" ] || MAXR=$r
	log "kill $i: process group $WS_PID ($pids) killed; r1 held $r rows"
	wait_for 10 no_walship_left || fail "kill $i: walship processes left: $(walship_pids | tr '\n' ' ')"

	start_walship "$i"
	now=$(sqlite3 "$DB" 'SELECT count(*) FROM t')
	for rep in r1 r2; do
		wait_for 30 replica_reaches "file://$T/$rep" "$now" "$([ $rep = r1 ] && echo "$r" || echo 0)" ||
			fail "kill $i: $rep did not reach $now rows: $(tail -5 "$WS_LOG")"
	done
	if [ "$(gen_lines)" -eq "$gens_before" ]; then
		CONTINUED=$((CONTINUED + 1))
		log "kill $i: the generation continued"
	else
		log "kill $i: a new generation started: $(grep 'msg="sync: new generation"' "$WS_LOG" | tail -1)"
	fi
done

stop_writer "$WRITER_PID"
for rep in r1 r2; do
	wait_for 40 restore_matches "$T/$rep" "$DB" ||
		fail "$rep did not catch up: $(tail -10 "$WS_LOG")"
	"$WALSHIP" restore -o "$T/final-$rep.db" "file://$T/$rep" >/dev/null 2>&1 || fail "final restore of $rep failed"
	assert_eq "$(table_sum "$T/final-$rep.db")" "$(table_sum "$DB")" "final restore of $rep"
	assert_eq "$(integrity "$T/final-$rep.db")" ok "integrity of the final restore of $rep"
done
FINAL=$(sqlite3 "$T/final-r1.db" 'SELECT count(*) FROM t')
[ "$FINAL" -ge "$MAXR" ] || fail "r1 holds $FINAL rows at the end, fewer than $MAXR held before a kill"
log "final: $FINAL rows; the generation continued after $CONTINUED of $KILLS restarts; generations: r1 $(ls "$T/r1/generations" | wc -l), r2 $(ls "$T/r2/generations" | wc -l)"
echo "crash tree ok"
