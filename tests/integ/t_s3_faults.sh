#!/bin/bash
# An S3 endpoint that fails now and then loses nothing. A fault-injecting
# proxy (tests/integ/faultproxy.py) between walship and s3rver answers every
# fifth request with a fault in turn: 500 InternalError, 503 SlowDown, a
# reset connection, an answer lost after the request was applied, a 4 s hang
# then a reset; one request gets no answer at all for 40 s, which only the
# client's low-speed timeout can end. During a steady workload walship
# retries (the retries show in its log; curl itself re-sends a request whose
# reused connection died before any answer), its uploader never dies, and at the
# end the replica holds every committed row: restored directly from s3rver,
# through a second faulty proxy (restore retries per object), and by
# Litestream v0.3.13.
. "$(dirname "$0")/lib.sh"

start_s3rver bkt
FAULTPROXY_STALL_AT=12 FAULTPROXY_STALL_S=40 start_faultproxy proxy 0.2
REPLICATE_ENDPOINT=$PROXY_ENDPOINT

DB="$T/app.db"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
# s3_config FILE ENDPOINT: a config with DB's S3 replica at ENDPOINT.
s3_config() {
	cat >"$1" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    replicas:
$(s3_replica_yaml s3 app 300ms "$2")
YML
}
s3_config "$T/w.yml" "$REPLICATE_ENDPOINT"
s3_config "$T/direct.yml" "$S3_ENDPOINT"

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
bg_writer writer "$DB" 40
sleep 60
stop_writer "$WRITER_PID"
ROWS=$(sqlite3 "$DB" 'SELECT count(*) FROM t')
log "the writer committed $ROWS rows; faults injected:"
cut -d' ' -f1 "$T/proxy.events" | sort | uniq -c
for kind in 500 503 reset lost hang stall; do
	grep -q "^$kind " "$T/proxy.events" || fail "no '$kind' fault was injected"
done

# direct_matches: a restore straight from s3rver holds every row.
direct_matches() {
	rm -f "$T/.direct.db"
	"$WALSHIP" restore -config "$T/direct.yml" -o "$T/.direct.db" "$DB" \
		>"$T/.direct.log" 2>&1 &&
		[ "$(table_sum "$T/.direct.db")" == "$(table_sum "$DB")" ]
}
wait_for 90 direct_matches ||
	fail "the S3 replica did not catch up: $(cat "$T/.direct.log")"
assert_eq "$(integrity "$T/.direct.db")" ok "integrity of the direct restore"

NRETRY=$(grep -c 'msg="retrying S3 request"' "$T/walship.log" || true)
log "walship logged $NRETRY retries"
[ "$NRETRY" -ge 5 ] || fail "too few retries logged for the faults injected: $NRETRY"
grep 'msg="retrying S3 request"' "$T/walship.log" | grep -qi 'timeout\|timed out' ||
	fail "the stalled request was not ended by a timeout: $(grep 'retrying S3' "$T/walship.log" | head)"
grep -q 'msg="child exited"' "$T/walship.log" &&
	fail "a child exited: $(grep 'child exited' "$T/walship.log")"

log "a restore through a faulty proxy"
start_faultproxy proxy2 0.25
s3_config "$T/faulty.yml" "$PROXY_ENDPOINT"
rm -f "$T/faulty.db"
"$WALSHIP" restore -config "$T/faulty.yml" -o "$T/faulty.db" "$DB" >"$T/faulty-restore.log" 2>&1 ||
	fail "restore through the faulty proxy failed: $(cat "$T/faulty-restore.log")"
[ -s "$T/proxy2.events" ] || fail "the restore met no fault"
assert_eq "$(table_sum "$T/faulty.db")" "$(table_sum "$DB")" "rows restored through faults"
assert_eq "$(integrity "$T/faulty.db")" ok "integrity of the restore through faults"

log "Litestream restores the same replica"
"$LITESTREAM" restore -config "$T/direct.yml" -o "$T/ls.db" "$DB" >"$T/ls-restore.log" 2>&1 ||
	fail "litestream restore failed: $(cat "$T/ls-restore.log")"
assert_eq "$(table_sum "$T/ls.db")" "$(table_sum "$DB")" "rows in the Litestream restore"
grep -q "$AWS_SECRET_ACCESS_KEY" "$T/walship.log" && fail "a credential reached the log"
echo "s3 faults ok"
