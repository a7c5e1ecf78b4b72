#!/bin/bash
# A store whose listing lags behind its writes (S3RVER_LIST_LAG_MS: objects
# younger than 60 s are left out of listings) must not make walship start a
# new generation after a restart: the uploader's position file names a
# generation the listing does not show yet, and a HEAD of that generation's
# snapshot confirms it, so replication goes on in the same generation and a
# restore holds every row.
. "$(dirname "$0")/lib.sh"

S3RVER_LIST_LAG_MS=60000 start_s3rver bkt
DB="$T/app.db"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    replicas:
$(s3_replica_yaml s3 app 200ms)
YML
# gens: the generations on the bucket, from s3rver's directory (a listing
# would lag).
gens() {
	ls "$T/s3rver-$S3_PORT/bkt/app/generations" 2>/dev/null | sort -u
}

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS=$SPAWN_PID
LAST=$(writer "$DB" 2 50)
wait_for 20 bash -c "ls '$T/s3rver-$S3_PORT/bkt/app/generations/'*/wal/* >/dev/null 2>&1" ||
	fail "nothing uploaded: $(tail -5 "$T/walship.log")"
sleep 1
kill -TERM "$WS"
wait_for 20 bash -c "! kill -0 $WS 2>/dev/null" || fail "walship did not stop"
assert_eq "$(gens | wc -l)" 1 "generations after the first run"
GEN=$(gens)

log "restart while the listing still hides generation $GEN"
mv "$T/walship.log" "$T/walship-1.log"
spawn walship "$WALSHIP" replicate -config "$T/w.yml"
LAST=$(writer "$DB" 2 50 $((LAST + 1)))
wait_for 20 grep -q 'msg="replica position"' "$T/walship.log" ||
	fail "no replica position: $(tail -5 "$T/walship.log")"
grep -q 'msg="replica listing lags, HEAD confirms the position file"' "$T/walship.log" ||
	fail "no HEAD confirmation: $(grep -E 'position|WARN' "$T/walship.log")"
grep 'msg="replica position"' "$T/walship.log" | grep -q 'from="position file"' ||
	fail "the position file was not used: $(grep 'replica position' "$T/walship.log")"
sleep 2
assert_eq "$(gens)" "$GEN" "generations after the restart"

# A restore lists: it sees the objects once the lag is over.
log "the restore holds every row once the listing has caught up"
probe() {
	rm -f "$T/r.db"
	"$WALSHIP" restore -config "$T/w.yml" -o "$T/r.db" "$DB" >"$T/r.log" 2>&1 && [ "$(table_sum "$T/r.db")" == "$(table_sum "$DB")" ]
}
wait_for 120 probe || fail "restore does not match: $(cat "$T/r.log")"
assert_eq "$(integrity "$T/r.db")" ok "integrity"
echo "listing lag ok"
