#!/bin/bash
# kill -9 of the compactor mid-pass loses nothing. Retention runs on an S3
# replica (s3rver) with compressed time while a paced writer records sums.
# First the compactor is killed while a pass waits on the store (s3rver
# stopped with SIGSTOP), then twice more at random moments; the supervisor
# restarts it each time. After every kill the replica restores to the
# database's latest state, later passes run to the end and delete what
# expired, and every recorded point inside the window still restores.
. "$(dirname "$0")/lib.sh"

start_s3rver bkt
DB="$T/data/app.db"
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
$(s3_replica_yaml s3 backups/app 200ms)
        snapshot-interval: 3s
        retention: 10s
        retention-check-interval: 2s
YML

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
WLOG="$T/walship.log"
compactor() { child_pid "$WS_PID" "walship: compactor"; }
count() { grep -c "$1" "$WLOG" || true; }
wait_for 20 bash -c "[ -n \"\$(ps -o pid= --ppid $WS_PID)\" ]" || fail "no children"
matches_db() {
	rm -f "$T/.latest.db"
	"$WALSHIP" restore -config "$T/w.yml" -o "$T/.latest.db" "$DB" >/dev/null 2>&1 &&
		[ "$(table_sum "$T/.latest.db")" == "$(table_sum "$DB")" ]
}
# kill_compactor: SIGKILL to the running compactor, then wait for its
# replacement and check that the replica still restores.
kill_compactor() {
	local pid new
	pid=$(compactor)
	[ -n "$pid" ] || fail "no compactor running"
	kill -KILL "$pid"
	wait_for 30 bash -c "p=\$(ps -o pid=,args= --ppid $WS_PID | awk '\$2 == \"walship:\" && \$3 == \"compactor\" { print \$1 }'); [ -n \"\$p\" ] && [ \"\$p\" != $pid ]" ||
		fail "the compactor was not restarted: $(grep compactor "$WLOG" | tail -3)"
	wait_for 20 matches_db || fail "replica does not restore the latest state after the kill"
}

paced_writer "$DB" 8 "$T/points"
wait_for 20 grep -q 'msg="retention: deleting"' "$WLOG" || fail "nothing deleted yet"

log "kill while a pass waits on the store"
# With the store stopped for longer than a retention-check-interval, the
# compactor is inside a request (none can finish): the one in flight when
# the store stopped, or the next pass's first listing.
kill -STOP "$S3_PID"
sleep 3.5
PID=$(compactor)
kill -KILL "$PID"
kill -CONT "$S3_PID"
log "killed $PID in its pass"
wait_for 30 bash -c "[ -n \"\$(ps -o pid=,args= --ppid $WS_PID | awk '\$3 == \"compactor\" && \$1 != $PID')\" ]" ||
	fail "the compactor was not restarted"
wait_for 20 matches_db || fail "replica does not restore the latest state after the kill"

for i in 1 2; do
	paced_writer "$DB" 3 "$T/points" $((i * 10000))
	sleep "$(rand_delay)"
	log "kill $i at a random moment"
	kill_compactor
done
DONE=$(count 'msg="retention: pass done"')
paced_writer "$DB" 8 "$T/points" 90000
wait_for 20 bash -c "[ \$(grep -c 'msg=\"retention: pass done\"' $WLOG) -gt $DONE ]" ||
	fail "no pass ran to the end after the kills"
sleep 3
STOP=$(date +%s)
kill -TERM "$WS_PID"
wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
[ "$(count 'msg="starting child".*child=compactor')" -ge 4 ] ||
	fail "the compactor was not started four times"
N=$(check_points_restore "$DB" "$T/points" $((STOP - 9)) -config "$T/w.yml")
log "$N points inside the window restored to their recorded sums"
[ "$N" -ge 4 ] || fail "too few points checked: $N"
OBJS=$(aws_s3 s3api list-objects-v2 --bucket bkt --prefix backups/app/ \
	--query 'Contents[].Key' --output text | tr '\t' '\n')
echo "$OBJS" | grep -q '/snapshots/00000000\.snapshot\.lz4$' && fail "the first snapshot is still there"
echo "compactor killed mid-pass: nothing lost"
