#!/bin/bash
# Retention on an S3 replica (s3rver), time compressed as in
# t_retention_file: a first generation, then a second one (the meta
# directory lost while walship was down), then a paced writer. The
# compactor deletes the first generation once nothing in it is inside the
# window, and in the current one the snapshots and WAL no restore inside
# the window needs, in DeleteObjects batches; every recorded point inside
# the window still restores to its sum, and Litestream restores the
# latest state.
. "$(dirname "$0")/lib.sh"

start_s3rver bkt
S3LOG="$T/s3rver-$S3_PORT.log"
DB="$T/data/app.db"
mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
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
cat >"$T/ls.yml" <<YML
user: root
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

# KEY EPOCH lines of every object under the replica.
objects() {
	aws_s3 s3api list-objects-v2 --bucket bkt --prefix backups/app/ \
		--query 'Contents[].[Key,LastModified]' --output text |
		while read -r key lm; do
			[ -n "$key" ] && [ "$key" != None ] || continue
			echo "$key $(date -d "$lm" +%s)"
		done
}
generations() {
	objects | sed -n 's|^backups/app/generations/\([0-9a-f]\{16\}\)/.*|\1|p' | sort -u
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
	grep -q 'msg="compactor stopped"' "$T/walship.log" || fail "the compactor did not stop cleanly"
}

start_walship
writer "$DB" 2 50 >/dev/null
wait_for 20 bash -c "[ \$(aws --endpoint-url $S3_ENDPOINT s3api list-objects-v2 --bucket bkt --prefix backups/app/ --query 'length(Contents[])' --output text) -gt 3 ]" ||
	fail "nothing uploaded"
stop_walship
OLD_GEN=$(generations)
assert_eq "$(echo "$OLD_GEN" | wc -l)" 1 "generations after the first run"
log "first generation $OLD_GEN; a second one after the meta directory is lost"
rm -rf "$T/data/.app.db-litestream"
mv "$T/walship.log" "$T/walship-1.log"
start_walship
paced_writer "$DB" 26 "$T/points" 100000
old_gen_gone() { ! generations | grep -q "$OLD_GEN"; }
wait_for 20 old_gen_gone ||
	fail "the old generation is still there: $(generations | tr '\n' ' ')"
grep -q 'msg="retention: generation deleted".*generation='"$OLD_GEN" "$T/walship.log" ||
	fail "no log of the generation's deletion"
wait_for 20 grep -q 'msg="retention: deleting"' "$T/walship.log" ||
	fail "nothing deleted in the current generation"
sleep 3
STOP=$(date +%s)
stop_walship

N=$(check_points_restore "$DB" "$T/points" $((STOP - 9)) -config "$T/w.yml")
log "$N points inside the window restored to their recorded sums"
[ "$N" -ge 4 ] || fail "too few points checked: $N"
rm -f "$T/ls.db"
"$LITESTREAM" restore -config "$T/ls.yml" -o "$T/ls.db" "$DB" >"$T/ls.log" 2>&1 ||
	fail "litestream cannot restore the trimmed replica: $(cat "$T/ls.log")"
assert_eq "$(table_sum "$T/ls.db")" "$(table_sum "$DB")" "litestream's restore"

GEN=$(generations)
assert_eq "$(echo "$GEN" | wc -l)" 1 "generations left"
P="backups/app/generations/$GEN"
objects >"$T/objects"
SNAPS=$(awk -v p="$P/snapshots/" 'index($1, p) == 1 { n = $1; sub(".*/", "", n); print $2, n }' "$T/objects" | sort -n)
log "snapshots left: $(echo "$SNAPS" | awk '{ print $2 }' | tr '\n' ' ')"
MIN_SNAP=$(echo "$SNAPS" | awk '{ print substr($2, 1, 8) }' | sort | head -1)
[ "$MIN_SNAP" != "00000000" ] || fail "the first snapshot was never deleted"
OLD=$(echo "$SNAPS" | awk -v c=$((STOP - 14)) '$1 < c' | wc -l)
[ "$OLD" -le 1 ] || fail "$OLD snapshots older than the window are left: $SNAPS"
BELOW=$(awk -v p="$P/wal/" -v m="$MIN_SNAP" 'index($1, p) == 1 { n = $1; sub(".*/", "", n); if (substr(n, 1, 8) < m) print n }' "$T/objects" | wc -l)
assert_eq "$BELOW" 0 "WAL segments below the oldest snapshot"
grep -q '?delete= 200' "$S3LOG" || fail "no DeleteObjects request answered by s3rver"
echo "retention on an S3 replica ok"
