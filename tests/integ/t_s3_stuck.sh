#!/bin/bash
# A stuck S3 endpoint stalls only its own uploader (design.md rules 2-4).
# During a steady workload the S3 server is stopped (SIGSTOP) for 20 s:
# the database's checkpoints go on (the -wal stays under twice the
# checkpoint threshold), the writer keeps committing at about its rate,
# the directory replica of the same database stays current, and the S3
# uploader is neither restarted nor stuck for good: after SIGCONT it
# catches up from the shadow log in the same generation, and Litestream
# v0.3.13 restores every committed row. Then the server is killed: the
# uploader logs errors naming bucket, key and endpoint, backs off, never
# exits, and catches up once the server is back. Finally a SIGTERM with a
# PUT stuck in flight ends walship within the uploader's stop bound.
. "$(dirname "$0")/lib.sh"

start_s3rver bkt
DB="$T/app.db"
PAGES=250	# min-checkpoint-page-count
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    min-checkpoint-page-count: $PAGES
    max-checkpoint-page-count: 1000
    replicas:
      - name: s3
        type: s3
        bucket: bkt
        path: app
        endpoint: $S3_ENDPOINT
        region: us-east-1
        force-path-style: true
        sync-interval: 500ms
      - name: dir
        type: file
        path: $T/replica
        sync-interval: 200ms
YML
cat >"$T/ls.yml" <<YML
dbs:
  - path: $DB
    replicas:
      - type: s3
        bucket: bkt
        path: app
        endpoint: $S3_ENDPOINT
        region: us-east-1
        force-path-style: true
YML

now() { date +%s.%N; }
# Rows a restore of the directory replica holds.
dir_rows() {
	rm -f "$T/.dir.db"
	"$WALSHIP" restore -o "$T/.dir.db" "file://$T/replica" >/dev/null 2>&1 || { echo -1; return; }
	sqlite3 "$T/.dir.db" 'SELECT count(*) FROM t'
}
ls_matches() {
	rm -f "$T/.probe.db"
	"$LITESTREAM" restore -config "$T/ls.yml" -o "$T/.probe.db" "$DB" >"$T/.probe.log" 2>&1 &&
		[ "$(table_sum "$T/.probe.db")" == "$(table_sum "$DB")" ]
}
# Commits logged by the writer in [FROM, TO).
commits_between() {
	awk -v a="$1" -v b="$2" '$1 >= a && $1 < b { n++ } END { print n + 0 }' "$T/commits"
}
# The largest -wal size sampled in [FROM, TO).
wal_max_between() {
	awk -v a="$1" -v b="$2" '$1 >= a && $1 < b && $2 > m { m = $2 } END { print m + 0 }' "$T/walsizes"
}

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
wait_for 20 bash -c "ls $T/replica/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
	fail "no snapshot: $(tail -5 "$T/walship.log")"
wait_for 20 ls_matches || fail "no S3 replica: $(cat "$T/.probe.log")"

# The workload: 100 transactions a second, each commit's time logged,
# until $T/stop.writer exists. The -wal size, sampled every 0.1 s.
cat >"$T/writer.py" <<'PY'
import os, sqlite3, sys, time
db, out, stop = sys.argv[1:4]
c = sqlite3.connect(db, timeout=30, isolation_level=None)
f = open(out, "w", buffering=1)
i = 1
while not os.path.exists(stop):
    c.execute("INSERT INTO t(id, v) VALUES (?, ?)", (i, "%0200d" % i))
    f.write("%.3f %d\n" % (time.time(), i))
    i += 1
    time.sleep(0.01)
PY
spawn writer python3 "$T/writer.py" "$DB" "$T/commits" "$T/stop.writer"
WRITER_PID=$SPAWN_PID
spawn sampler bash -c "while [ ! -e '$T/stop.sampler' ]; do
	echo \"\$(date +%s.%N) \$(stat -c %s '$DB-wal' 2>/dev/null || echo 0)\" >>'$T/walsizes'; sleep 0.1; done"

sleep 10
log "the S3 server stopped for 20 s"
T0=$(now)
kill -STOP "$S3_PID"
sleep 10
N0=$(sqlite3 "$DB" 'SELECT count(*) FROM t')
sleep 1.5
DIR_ROWS=$(dir_rows)
log "mid-stall: the database had $N0 rows 1.5 s ago, the directory replica holds $DIR_ROWS"
[ "$DIR_ROWS" -ge "$N0" ] || fail "the directory replica fell behind during the stall"
sleep 8.5
T1=$(now)
kill -CONT "$S3_PID"
log "the S3 server resumed"
sleep 5
touch "$T/stop.writer"
wait_for 10 bash -c "! kill -0 $WRITER_PID 2>/dev/null" || fail "writer did not stop"
touch "$T/stop.sampler"
LAST=$(tail -1 "$T/commits" | cut -d' ' -f2)

BEFORE=$(commits_between "$(echo "$T0 - 10" | bc)" "$T0")
DURING=$(commits_between "$T0" "$T1")
DURING_10=$(( DURING * 10 / 20 ))
log "commits: $BEFORE in the 10 s before, $DURING in the 20 s stall ($DURING_10 per 10 s)"
[ "$BEFORE" -gt 200 ] || fail "the writer barely ran before the stall: $BEFORE commits"
[ $((DURING_10 * 10)) -ge $((BEFORE * 7)) ] ||
	fail "the writer slowed down during the stall: $DURING_10 vs $BEFORE per 10 s"

BOUND=$((2 * PAGES * (4096 + 24)))
PEAK=$(wal_max_between "$T0" "$T1")
log "largest -wal during the stall: $PEAK bytes (bound $BOUND)"
[ "$PEAK" -gt 0 ] || fail "no -wal size sampled during the stall"
[ "$PEAK" -le "$BOUND" ] || fail "the -wal grew during the stall: $PEAK > $BOUND bytes"

log "the S3 replica catches up after the stall"
wait_for 90 ls_matches || fail "S3 replica did not catch up: $(cat "$T/.probe.log")"
assert_eq "$(sqlite3 "$T/.probe.db" 'SELECT count(*) || ":" || max(id) FROM t')" "$LAST:$LAST" \
	"rows in the Litestream restore"
assert_eq "$(integrity "$T/.probe.db")" ok "integrity"
NGEN=$(aws_s3 s3api list-objects-v2 --bucket bkt --prefix app/generations/ --query 'Contents[].Key' \
	--output text | tr '\t' '\n' | cut -d/ -f3 | sort -u | wc -l)
assert_eq "$NGEN" 1 "generations on S3 (the stall must not start a new one)"
grep -q 'msg="child exited".*replica=s3' "$T/walship.log" &&
	fail "the S3 uploader exited during the stall: $(grep 'child exited' "$T/walship.log")"
[ "$(dir_rows)" -eq "$LAST" ] || fail "the directory replica is not current"

log "the S3 server killed: actionable errors, backoff, no exit; restarted: caught up"
kill -KILL "$S3_PID"
wait_for 10 bash -c "! kill -0 $S3_PID 2>/dev/null" || fail "s3rver did not die"
LAST=$(writer "$DB" 6 50 $((LAST + 1)))
wait_for 30 grep -q 'msg="cannot write replica object"' "$T/walship.log" ||
	fail "no error logged for an unreachable endpoint"
ERR=$(grep -m1 'msg="cannot write replica object"' "$T/walship.log")
echo "$ERR"
for want in "path=s3://bkt/app/generations/" "s3://bkt/app/generations/" "at $S3_ENDPOINT" "retry_in_ms="; do
	case "$ERR" in *"$want"*) ;; *) fail "the error does not name '$want'" ;; esac
done
grep -q "$AWS_SECRET_ACCESS_KEY" "$T/walship.log" && fail "a credential reached the log"
spawn s3rver-again node "$ROOT/tests/integ/s3rver.js" "$S3_PORT" "$T/s3rver-$S3_PORT" bkt
S3_PID=$SPAWN_PID
wait_for 30 grep -q '^ready' "$T/s3rver-again.log" || fail "s3rver did not restart"
wait_for 60 ls_matches || fail "S3 replica did not catch up after the server restart"
grep -q 'msg="child exited".*replica=s3' "$T/walship.log" &&
	fail "the S3 uploader exited: $(grep 'child exited' "$T/walship.log")"

log "SIGTERM with a PUT stuck in flight: walship stops within its bound"
kill -STOP "$S3_PID"
sqlite3 "$DB" "INSERT INTO t(id, v) VALUES ($((LAST + 1)), 'last')" >/dev/null
sleep 2 # past the sync-interval: the PUT is sent and hangs
STOP_T0=$(date +%s)
kill -TERM "$WS_PID"
wait_for 25 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop while S3 was stuck"
STOP_S=$(( $(date +%s) - STOP_T0 ))
kill -CONT "$S3_PID"
log "stopped in ${STOP_S}s"
grep -q 'msg="shutdown timeout' "$T/walship.log" ||
	fail "no bounded wait for the stuck PUT: $(grep -E 'uploader|child' "$T/walship.log" | tail -5)"
grep 'msg="uploader stopped"' "$T/walship.log" | grep -q 's3_put=' ||
	fail "the S3 uploader did not log its requests when stopping"
grep -q 'child did not stop in time' "$T/walship.log" && fail "a child had to be killed"
echo "s3 stuck ok"
