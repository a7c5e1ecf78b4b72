#!/bin/bash
# walship replicates a database under a running workload to an S3 replica
# (s3rver) in Litestream's layout, and Litestream v0.3.13 restores it over
# S3 to the same content with a clean integrity check: at the latest state,
# after a walship restart (the generation continues), at a point in time,
# after a transaction larger than the multipart threshold, and from an
# older generation. awscli sees exactly the layout's objects, nothing
# else. In steady state the uploader makes one PUT per sync-interval with
# changes (and no other request), and an idle database makes none.
. "$(dirname "$0")/lib.sh"

start_s3rver bkt
S3LOG="$T/s3rver-$S3_PORT.log"
DB="$T/data/app.db"
mkdir -p "$T/data"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    min-checkpoint-page-count: 2000
    replicas:
      - name: s3
        type: s3
        bucket: bkt
        path: backups/app
        endpoint: $S3_ENDPOINT
        region: us-east-1
        force-path-style: true
        sync-interval: 1s
YML
cat >"$T/ls.yml" <<YML
dbs:
  - path: $DB
    replicas:
      - type: s3
        bucket: bkt
        path: backups/app
        endpoint: $S3_ENDPOINT
        region: us-east-1
        force-path-style: true
YML

# Requests s3rver answered (one log line per response), and objects it
# stored (PutObject, CompleteMultipartUpload).
requests() { grep -cE ' [1-5][0-9][0-9] [0-9.]+m?s ([0-9.]+[a-z]*b|-)$' "$S3LOG" || true; }
stored() { grep -c '^.*Stored object "' "$S3LOG" || true; }
stored_keys() { sed -n 's/.*Stored object "\([^"]*\)".*/\1/p' "$S3LOG"; }

ls_restore() {
	local out=$1
	shift
	rm -f "$out"
	"$LITESTREAM" restore -config "$T/ls.yml" "$@" -o "$out" "$DB" >"$out.log" 2>&1
}
# Litestream restores the latest state and it matches the database.
ls_matches() {
	ls_restore "$T/.probe.db" && [ "$(table_sum "$T/.probe.db")" == "$(table_sum "$DB")" ]
}
start_walship() {
	spawn walship "$WALSHIP" replicate -config "$T/w.yml"
	WS_PID=$SPAWN_PID
	wait_for 20 bash -c "aws --endpoint-url $S3_ENDPOINT s3api list-objects-v2 --bucket bkt \
		--prefix backups/app/generations/ --query 'Contents[].Key' --output text |
		grep -q snapshot.lz4" || fail "no snapshot uploaded: $(tail -5 "$T/walship.log")"
}
stop_walship() {
	kill -TERM "$WS_PID"
	wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
	grep -q 'msg="uploader stopped"' "$T/walship.log" || fail "uploader did not stop cleanly"
}
generations() {
	aws_s3 s3api list-objects-v2 --bucket bkt --prefix backups/app/generations/ \
		--query 'Contents[].Key' --output text | tr '\t' '\n' |
		sed -n 's|^backups/app/generations/\([0-9a-f]\{16\}\)/.*|\1|p' | sort -u
}

start_walship
log "steady state: one PUT per sync-interval with changes"
LAST=$(writer "$DB" 2 50)
wait_for 20 ls_matches || fail "replica did not catch up: $(cat "$T/.probe.db.log")"
R0=$(requests)
P0=$(stored)
LAST=$(writer "$DB" 10 50 $((LAST + 1)))
sleep 2.5
R1=$(requests)
P1=$(stored)
PUTS=$((P1 - P0))
log "$PUTS PUTs, $((R1 - R0)) requests in 10 s of writes at 50 tx/s, sync-interval 1s"
[ "$PUTS" -ge 8 ] && [ "$PUTS" -le 13 ] || fail "want about 10 PUTs, got $PUTS"
assert_eq "$((R1 - R0))" "$PUTS" "requests other than PUTs in steady state"

log "idle: no request in 10 s"
wait_for 20 ls_matches || fail "replica did not catch up"
sleep 1.5
R0=$(requests)
sleep 10
assert_eq "$(requests)" "$R0" "requests while idle"

sleep 1.1
MID=$(rfc3339_now)
MID_SUM=$(table_sum "$DB")
sleep 1.1
LAST=$(writer "$DB" 2 50 $((LAST + 1)))
wait_for 20 ls_matches || fail "replica did not catch up"
stop_walship
GEN=$(generations)
[ "$(echo "$GEN" | wc -l)" -eq 1 ] || fail "expected one generation, got: $GEN"
grep 'msg="uploader stopped"' "$T/walship.log" | grep -q ' s3_errors=0' ||
	fail "the uploader counted S3 errors: $(grep 'uploader stopped' "$T/walship.log")"
assert_eq "$(grep -c 'level=WARN.*role=uploader\|level=ERROR.*role=uploader' "$T/walship.log" || true)" 0 \
	"uploader warnings"

log "restart: the generation continues, nothing is uploaded again"
P0=$(stored)
mv "$T/walship.log" "$T/walship-1.log"
start_walship
grep -q 'msg="replica position".*from="position file"' "$T/walship.log" ||
	wait_for 10 grep -q 'msg="replica position".*from="position file"' "$T/walship.log" ||
	fail "the position file was not used: $(grep -m3 'replica position' "$T/walship.log")"
LAST=$(writer "$DB" 3 50 $((LAST + 1)))
wait_for 20 ls_matches || fail "replica did not catch up after the restart"
assert_eq "$(generations)" "$GEN" "generation after a restart"
stored_keys | tail -n +$((P0 + 1)) | grep -q 'snapshot' && fail "a snapshot was uploaded again"

log "the position file lost: read from the replica (LIST, LIST, GET)"
stop_walship
mv "$T/walship.log" "$T/walship-2.log"
rm -f "$T/data/.app.db-litestream/walship/s3.pos"
P0=$(stored)
start_walship
wait_for 10 grep -q 'msg="replica position".*from=replica' "$T/walship.log" ||
	fail "the replica's position was not used: $(grep -m3 'replica position' "$T/walship.log")"
LAST=$(writer "$DB" 2 50 $((LAST + 1)))
wait_for 20 ls_matches || fail "replica did not catch up after losing the position file"
assert_eq "$(generations)" "$GEN" "generation after losing the position file"
stored_keys | tail -n +$((P0 + 1)) | grep -q 'snapshot' && fail "a snapshot was uploaded again"

log "a 12 MiB transaction: a spooled, multipart segment"
python3 - "$DB" <<'PY'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
c.execute("BEGIN")
for i in range(3000):
    c.execute("INSERT INTO t(id, v) VALUES (?, ?)", (20000000 + i, os.urandom(2048).hex()))
c.execute("COMMIT")
PY
wait_for 60 ls_matches || fail "replica did not catch up after a large transaction"
grep -q "Stored part 2 of" "$S3LOG" || fail "no multipart upload for the large segment"
stop_walship
OLD_SUM=$(table_sum "$DB")

log "the database changes while walship is down: a new generation, its snapshot multipart"
mv "$T/walship.log" "$T/walship-3.log"
sqlite3 "$DB" "INSERT INTO t(id, v) VALUES (10000000, 'offline'); PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
start_walship
writer "$DB" 2 50 $((LAST + 1)) >/dev/null
wait_for 30 ls_matches || fail "replica did not catch up in the new generation"
stop_walship
NEW_SUM=$(table_sum "$DB")
[ "$(generations | wc -l)" -eq 2 ] || fail "expected a second generation: $(generations)"
NEW_GEN=$(generations | grep -v "$GEN")
grep -q "Stored object \"backups/app/generations/$NEW_GEN/snapshots/" "$S3LOG" ||
	fail "no snapshot of the new generation"

log "Litestream restores the latest state"
ls_restore "$T/ls-latest.db" || fail "litestream restore failed: $(cat "$T/ls-latest.db.log")"
assert_eq "$(table_sum "$T/ls-latest.db")" "$NEW_SUM" "litestream latest"
assert_eq "$(integrity "$T/ls-latest.db")" ok "integrity"

log "Litestream restores the older generation"
ls_restore "$T/ls-old.db" -generation "$GEN" || fail "restore -generation: $(cat "$T/ls-old.db.log")"
assert_eq "$(table_sum "$T/ls-old.db")" "$OLD_SUM" "litestream old generation"
assert_eq "$(integrity "$T/ls-old.db")" ok "integrity"

log "Litestream restores a point in time ($MID)"
ls_restore "$T/ls-mid.db" -generation "$GEN" -timestamp "$MID" ||
	fail "restore -timestamp: $(cat "$T/ls-mid.db.log")"
assert_eq "$(table_sum "$T/ls-mid.db")" "$MID_SUM" "litestream point in time"
assert_eq "$(integrity "$T/ls-mid.db")" ok "integrity"

log "awscli: only the layout's objects, none stored twice, no multipart upload left"
aws_s3 s3api list-objects-v2 --bucket bkt --query 'Contents[].Key' --output text |
	tr '\t' '\n' | sort >"$T/keys"
grep -vE '^backups/app/generations/[0-9a-f]{16}/(snapshots/[0-9a-f]{8}\.snapshot\.lz4|wal/[0-9a-f]{8}_[0-9a-f]{8}\.wal\.lz4)$' \
	"$T/keys" && fail "stray objects in the bucket"
stored_keys | sort >"$T/stored"
diff -u "$T/keys" <(sort -u "$T/stored") || fail "stored keys differ from the listing"
assert_eq "$(uniq -d "$T/stored")" "" "keys stored more than once"
# s3rver lacks ListMultipartUploads: its uploads directory tells.
assert_eq "$(ls -A "$T/s3rver-$S3_PORT/bkt/._S3rver_uploads" 2>/dev/null)" "" "multipart uploads left"
echo "s3 replicate ok"
