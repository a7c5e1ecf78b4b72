#!/bin/bash
# One config, two databases, two directory replicas each: four uploaders
# under one supervisor, a writer on each database. All four replicas follow
# their database. Then one uploader (a.db -> r1) is stuck (SIGSTOP) for a
# while: the other three stay current within a few seconds, a.db's WAL
# stays small (checkpoints do not wait for uploaders) and the stuck replica
# lags; after SIGCONT it catches up. Then the same uploader is killed with
# SIGKILL three times: the supervisor restarts it and the other three stay
# current throughout. At the end all four restore to their database's
# content with a clean integrity check.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
for d in a b; do
	sqlite3 "$T/data/$d.db" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
done
PAGE=$(sqlite3 "$T/data/a.db" 'PRAGMA page_size')
{
	echo "user: root"
	echo "dbs:"
	for d in a b; do
		cat <<YML
  - path: $T/data/$d.db
    monitor-interval: 100ms
    min-checkpoint-page-count: 100
    replicas:
      - name: r1
        type: file
        path: $T/$d-r1
        sync-interval: 200ms
      - name: r2
        type: file
        path: $T/$d-r2
        sync-interval: 200ms
YML
	done
} >"$T/w.yml"
STUCK="walship: uploader $T/data/a.db -> r1"
OTHERS="b-r1 b-r2 a-r2"

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
for r in a-r1 a-r2 b-r1 b-r2; do
	wait_for 20 bash -c "ls $T/$r/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
		fail "no snapshot uploaded to $r: $(tail -5 "$T/walship.log")"
done
bg_writer writer-a "$T/data/a.db" 120
WA=$WRITER_PID
bg_writer writer-b "$T/data/b.db" 120 1000001
WB=$WRITER_PID

rows() {
	sqlite3 "$1" 'SELECT count(*) FROM t'
}
# reaches REPLICA MIN: a restore of $T/REPLICA holds at least MIN rows.
reaches() {
	local n
	n=$(replica_rows "file://$T/$1") || return 1
	[ "$n" -ge "$2" ]
}
# current REPLICA...: each replica reaches, within 5 s, the row count its
# database has now.
current() {
	local r now
	for r in "$@"; do
		now=$(rows "$T/data/${r%-*}.db")
		wait_for 5 reaches "$r" "$now" ||
			fail "$r did not reach $now rows within 5 s: $(replica_rows "file://$T/$r" || echo restore failed)"
	done
}
wal_frames() {
	local sz
	sz=$(stat -c %s "$1-wal" 2>/dev/null || echo 0)
	echo $(((sz > 32 ? sz - 32 : 0) / (PAGE + 24)))
}

wait_for 20 bash -c "[ \$(sqlite3 $T/data/a.db 'SELECT count(*) FROM t') -ge 100 ] &&
	[ \$(sqlite3 $T/data/b.db 'SELECT count(*) FROM t') -ge 100 ]" || fail "the writers did not write"
current a-r1 a-r2 b-r1 b-r2
log "all four replicas follow their database"

# A stuck uploader.
STUCK_PID=$(child_pid "$WS_PID" "$STUCK")
[ -n "$STUCK_PID" ] || fail "no uploader with the title '$STUCK'"
kill -STOP "$STUCK_PID"
log "uploader $STUCK_PID stopped"
MAXF=0
for round in 1 2 3 4; do
	current $OTHERS
	f=$(wal_frames "$T/data/a.db")
	[ "$f" -le "$MAXF" ] || MAXF=$f
done
[ "$MAXF" -lt 1000 ] || fail "a.db's WAL grew to $MAXF frames while an uploader was stuck"
STUCK_ROWS=$(replica_rows "file://$T/a-r1") || fail "restore of the stuck replica failed"
A_ROWS=$(rows "$T/data/a.db")
[ "$STUCK_ROWS" -lt "$A_ROWS" ] || fail "the stuck replica did not lag ($STUCK_ROWS rows, a.db $A_ROWS)"
log "others current; a.db's WAL at most $MAXF frames; the stuck replica holds $STUCK_ROWS rows of $A_ROWS"
[ "$(child_pid "$WS_PID" "$STUCK")" = "$STUCK_PID" ] || fail "the stuck uploader was replaced while stopped"
kill -CONT "$STUCK_PID"
now=$(rows "$T/data/a.db")
wait_for 20 reaches a-r1 "$now" || fail "the stuck replica did not catch up after SIGCONT: $(tail -5 "$T/walship.log")"
log "after SIGCONT, a-r1 caught up"

# A crashing uploader.
for i in 1 2 3; do
	old=$(child_pid "$WS_PID" "$STUCK")
	[ -n "$old" ] || fail "kill $i: no uploader for a.db -> r1"
	sleep "$(rand_delay)"
	kill -KILL "$old"
	current $OTHERS
	new=
	restarted() {
		new=$(child_pid "$WS_PID" "$STUCK")
		[ -n "$new" ] && [ "$new" != "$old" ]
	}
	wait_for 30 restarted || fail "kill $i: the uploader was not restarted: $(tail -5 "$T/walship.log")"
	current $OTHERS
	now=$(rows "$T/data/a.db")
	wait_for 20 reaches a-r1 "$now" || fail "kill $i: a-r1 did not catch up: $(tail -5 "$T/walship.log")"
	log "kill $i: uploader $old killed, $new took over; all current"
done

stop_writer "$WA"
stop_writer "$WB"
for r in a-r1 a-r2 b-r1 b-r2; do
	db="$T/data/${r%-*}.db"
	wait_for 30 restore_matches "$T/$r" "$db" || fail "$r did not catch up: $(tail -10 "$T/walship.log")"
	"$WALSHIP" restore -o "$T/final-$r.db" "file://$T/$r" >/dev/null 2>&1 || fail "final restore of $r failed"
	assert_eq "$(table_sum "$T/final-$r.db")" "$(table_sum "$db")" "final restore of $r"
	assert_eq "$(integrity "$T/final-$r.db")" ok "integrity of $r"
done
log "final: a.db $(rows "$T/data/a.db") rows, b.db $(rows "$T/data/b.db") rows"
echo "two databases ok"
