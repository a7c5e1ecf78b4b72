#!/bin/bash
# Metrics (addr:) and `walship status` follow what happens to a running
# replication: figures move with writes; when the S3 server is stopped the
# S3 replica's lag rises and `status -max-lag` fails while the directory
# replica stays current; when it is killed upload failures are counted;
# once it is back everything is healthy again; an uploader that keeps
# dying shows as failed; a stopped daemon shows as down. The listener binds
# 127.0.0.1 when addr: has no host.
. "$(dirname "$0")/lib.sh"

start_s3rver bkt
DB="$T/app.db"
MPORT=$(free_port)
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
addr: ":$MPORT"
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    replicas:
$(s3_replica_yaml s3 app 200ms)
      - name: dir
        type: file
        path: $T/replica
        sync-interval: 200ms
YML
M="http://127.0.0.1:$MPORT/metrics"
# metric NAME LABEL_SUBSTRING: the value of the first matching series.
# (The whole page is read first: awk stopping early would make curl fail
# on a closed pipe.)
metric() {
	curl -s "$M" >"$T/.metrics"
	awk -v n="$1" -v l="$2" 'index($0, n "{") == 1 && index($0, l) && !done { print $NF; done = 1 }' "$T/.metrics"
}
status() {
	"$WALSHIP" status -config "$T/w.yml" "$@" >"$T/status.out" 2>"$T/status.err"
}

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
wait_for 20 bash -c "curl -s '$M' | grep -q '^walship_component_up'" ||
	fail "no metrics on $M: $(tail -5 "$T/walship.log")"
grep -q 'msg="serving metrics".*host=127.0.0.1' "$T/walship.log" ||
	fail "an empty host did not mean 127.0.0.1: $(grep metrics "$T/walship.log")"

log "healthy: figures move with writes, status exits 0"
writer "$DB" 2 50 >/dev/null
wait_for 20 bash -c "[ \"\$(curl -s '$M' | awk 'index(\$0, \"walship_replica_uploads_total{\") == 1 && index(\$0, \"name=\\\"s3\\\"\") { print \$NF }')\" -ge 2 ] 2>/dev/null" ||
	fail "S3 uploads not counted: $(curl -s "$M" | grep uploads_total)"
[ "$(metric litestream_db_size "")" -gt 0 ] || fail "no database size"
[ "$(metric litestream_total_wal_bytes "")" -gt 0 ] || fail "no WAL bytes"
for c in 'component="walreader"' 'name="s3",component="uploader"' 'name="dir",component="uploader"'; do
	assert_eq "$(metric walship_component_up "$c")" 1 "component up $c"
done
[ "$(metric walship_s3_requests_total 'operation="PUT"')" -ge 1 ] || fail "no S3 PUTs counted"
wait_for 10 status || fail "status not healthy: $(cat "$T/status.out" "$T/status.err")"
cat "$T/status.out"
grep -q "^$DB  *s3  *up " "$T/status.out" || fail "no s3 row in status"
# The S3 uploader's position file has the database's mode, as the file
# replica's has: a service user must be able to read it back.
assert_eq "$(stat -c %a "$T/.app.db-litestream/walship/s3.pos")" "$(stat -c %a "$DB")" \
	"mode of the S3 position file"

log "S3 stopped: the S3 lag rises, status -max-lag 2s fails, the directory replica stays current"
kill -STOP "$S3_PID"
bg_writer w2 "$DB" 20 1000
# An uploader reports its lag every 2 s: read it until it shows.
s3_lag_rose() {
	awk -v l="$(metric walship_replica_lag_seconds 'name="s3"')" 'BEGIN { exit !(l >= 3) }'
}
wait_for 15 s3_lag_rose ||
	fail "S3 lag did not rise: $(metric walship_replica_lag_seconds 'name="s3"')"
LAG=$(metric walship_replica_lag_seconds 'name="s3"')
DIRLAG=$(metric walship_replica_lag_seconds 'name="dir"')
log "lag: s3 $LAG s, dir $DIRLAG s"
awk -v l="$DIRLAG" 'BEGIN { exit !(l < 2) }' || fail "the directory replica lags: $DIRLAG"
wait_for 10 bash -c "! '$WALSHIP' status -config '$T/w.yml' -max-lag 2s >/dev/null 2>&1" ||
	fail "status exited 0 with a lagging replica: $(cat "$T/status.out")"
status -max-lag 2s || true
grep -q "replica s3: lagging" "$T/status.err" || fail "no lagging line: $(cat "$T/status.err")"
grep -q "replica dir" "$T/status.err" && fail "the current replica reported: $(cat "$T/status.err")"
status -max-lag 10m || fail "status with a generous -max-lag: $(cat "$T/status.err")"

log "S3 killed: upload failures are counted and show in status"
ERR0=$(metric walship_replica_upload_errors_total 'name="s3"')
kill -KILL "$S3_PID"
kill -CONT "$S3_PID" 2>/dev/null || true
wait_for 60 bash -c "[ \"\$(curl -s '$M' | awk 'index(\$0, \"walship_replica_upload_errors_total{\") == 1 && index(\$0, \"name=\\\"s3\\\"\") { print \$NF }')\" -gt $ERR0 ]" ||
	fail "upload failures not counted"
wait_for 10 bash -c "'$WALSHIP' status -config '$T/w.yml' -max-lag 10m | grep -q 's3 .*up .*PutObject'" ||
	fail "status shows no last error: $("$WALSHIP" status -config "$T/w.yml")"
stop_writer "$WRITER_PID"

log "S3 back: healthy again"
spawn s3rver-again node "$ROOT/tests/integ/s3rver.js" "$S3_PORT" "$T/s3rver-$S3_PORT" bkt
wait_for 30 grep -q '^ready' "$T/s3rver-again.log" || fail "s3rver did not restart"
wait_for 90 status -max-lag 2s || fail "not healthy after S3 came back: $(cat "$T/status.out" "$T/status.err")"
assert_eq "$(metric walship_replica_lag_seconds 'name="s3"')" 0 "S3 lag once current"

log "an uploader that keeps dying shows as failed"
TITLE="walship: uploader $DB -> dir"
for n in 1 2 3 4 5; do
	wait_for 30 bash -c "[ -n \"\$(ps -o pid=,args= --ppid $WS_PID | awk -v t='$TITLE' '{p=\$1; sub(/^ *[0-9]+ /, \"\"); if (\$0 == t) print p}')\" ]" ||
		fail "the dir uploader did not come back (death $n)"
	kill -KILL "$(child_pid "$WS_PID" "$TITLE")"
	sleep 0.5
done
wait_for 10 bash -c "[ \"\$(curl -s '$M' | awk 'index(\$0, \"walship_component_failed{\") == 1 && index(\$0, \"name=\\\"dir\\\"\") { print \$NF }')\" = 1 ]" ||
	fail "the failed uploader is not reported: $(curl -s "$M" | grep component_)"
[ "$(metric walship_component_restarts_total 'name="dir"')" -ge 4 ] || fail "restarts not counted"
# The status file is rewritten every 2 s: wait for the one after the death.
failed_in_status() {
	! status && grep -q "replica dir: too many restarts" "$T/status.err"
}
wait_for 10 failed_in_status ||
	fail "status does not say the uploader failed: $(cat "$T/status.err")"

log "the daemon stopped: status says it is down"
kill -TERM "$WS_PID"
wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
status && fail "status exited 0 with no daemon"
grep -q "not running" "$T/status.err" || fail "status does not say the daemon is gone: $(cat "$T/status.err")"
echo "metrics and status ok"
