#!/bin/bash
# Stopping walship right after a workload. The writer stops, and at once,
# without waiting for a sync (the sync-interval is 10 s here, so nothing but
# the shutdown path can upload the last frames), walship gets SIGTERM, then
# in a second round SIGINT: each time it exits with status 0 within the stop
# timeout, no walship process is left, its runtime directory is gone, and
# the replica restores to exactly the database's content. Then a second
# SIGTERM while a stop is in progress (an uploader held with SIGSTOP keeps
# the first from completing) ends everything at once.
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
URL="file://$T/replica"
mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    replicas:
      - name: r1
        type: file
        path: $T/replica
        sync-interval: 10s
YML

RUN=0
start_walship() {
	RUN=$((RUN + 1))
	spawn "walship-$RUN" "$WALSHIP" replicate -config "$T/w.yml"
	WS_PID=$SPAWN_PID
	WS_LOG="$T/walship-$RUN.log"
	wait_for 20 bash -c "[ -n \"\$(ps -o pid= --ppid $WS_PID)\" ] && ls $T/replica/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
		fail "walship did not start: $(tail -5 "$WS_LOG")"
	wait_for 20 grep -qs 'msg="initialized db"' "$WS_LOG" || fail "the database was not opened"
}
gone() {
	! kill -0 "$WS_PID" 2>/dev/null
}
no_walship_left() {
	[ -z "$(walship_pids)" ]
}
rundir_empty() {
	[ -z "$(ls -A "$T/run")" ]
}

NEXT=1
for sig in TERM INT; do
	log "SIG$sig after a workload"
	start_walship
	last=$(writer "$DB" 2 150 "$NEXT")
	NEXT=$((last + 1))
	t0=$SECONDS
	kill -"$sig" "$WS_PID"
	wait_for 25 gone || fail "SIG$sig: walship still running after 25 s: $(tail -5 "$WS_LOG")"
	rc=0
	wait "$WS_PID" || rc=$?
	log "SIG$sig: walship exited with status $rc after $((SECONDS - t0)) s"
	assert_eq "$rc" 0 "SIG$sig: exit status"
	wait_for 5 no_walship_left || fail "SIG$sig: walship processes left: $(walship_pids | tr '\n' ' ')"
	rundir_empty || fail "SIG$sig: runtime directory left: $(ls -A "$T/run")"
	grep -q "msg=stopping role=supervisor signal=SIG$sig" "$WS_LOG" || fail "SIG$sig: no stop logged"
	rm -f "$T/final.db"
	"$WALSHIP" restore -o "$T/final.db" "$URL" >/dev/null 2>&1 || fail "SIG$sig: restore failed"
	if [ "$(table_sum "$T/final.db")" != "$(table_sum "$DB")" ]; then
		fail "SIG$sig: the replica holds $(table_sum "$T/final.db"), the database $(table_sum "$DB") (count:bytes:ids): the shutdown did not upload what was left; $(grep -E 'shutting down|stopped|timeout' "$WS_LOG" | cut -c1-200)"
	fi
	assert_eq "$(integrity "$T/final.db")" ok "SIG$sig: integrity"
done

log "a second SIGTERM during the stop"
start_walship
writer "$DB" 1 150 "$NEXT" >/dev/null
UP=$(child_pid "$WS_PID" "walship: uploader $DB -> r1")
[ -n "$UP" ] || fail "no uploader"
kill -STOP "$UP"
kill -TERM "$WS_PID"
wait_for 5 grep -q 'msg=stopping role=supervisor signal=SIGTERM' "$WS_LOG" || fail "first SIGTERM not logged"
# The held uploader keeps the stop from completing.
! wait_for 1 gone || fail "walship stopped although an uploader was held"
t0=$SECONDS
kill -TERM "$WS_PID"
wait_for 3 gone || fail "walship still running 3 s after a second SIGTERM: $(tail -5 "$WS_LOG")"
rc=0
wait "$WS_PID" || rc=$?
log "after the second SIGTERM walship exited with status $rc within $((SECONDS - t0)) s"
grep -q 'msg="second stop signal, killing every child"' "$WS_LOG" || fail "the second signal is not logged"
wait_for 5 no_walship_left || fail "walship processes left after the second SIGTERM: $(walship_pids | tr '\n' ' ')"
rundir_empty || fail "runtime directory left: $(ls -A "$T/run")"
echo "graceful stop ok"
