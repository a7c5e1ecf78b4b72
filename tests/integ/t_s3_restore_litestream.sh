#!/bin/bash
# walship restores what Litestream v0.3.13 replicated to S3 (s3rver, its
# listing fixed): the latest state by config and by s3:// URL with one or
# many download threads, a point in time and an older generation; its
# generations/snapshots/wal print what Litestream's own commands print over
# S3; a missing middle WAL segment (deleted with awscli) fails the restore
# naming the key and leaves nothing at -o; wrong credentials fail with an
# error that says what to fix, never the secret.
. "$(dirname "$0")/lib.sh"

start_s3rver bkt
URL="s3://bkt.localhost:$S3_PORT/app/db"
PREFIX=app/db

DB="$T/data/app.db"
mkdir -p "$T/data"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
replica_yml() {
	cat <<YML
      - type: s3
        bucket: bkt
        path: $PREFIX
        endpoint: $S3_ENDPOINT
        region: us-east-1
        force-path-style: true
        sync-interval: 100ms
YML
}
cat >"$T/ls.yml" <<YML
dbs:
  - path: $DB
    monitor-interval: 100ms
    min-checkpoint-page-count: 40
    replicas:
$(replica_yml)
YML
# The same replica for walship, logging at debug on stderr.
cat >"$T/dbg.yml" <<YML
logging:
  level: debug
  stderr: true
dbs:
  - path: $DB
    replicas:
$(replica_yml)
YML

run_litestream() {
	spawn litestream "$LITESTREAM" replicate -config "$T/ls.yml"
	LS_PID=$SPAWN_PID
	wait_for 20 grep -q "snapshot written" "$T/litestream.log" ||
		fail "litestream did not start replicating: $(tail -5 "$T/litestream.log")"
}
stop_litestream() {
	kill -TERM "$LS_PID"
	wait_for 30 bash -c "! kill -0 $LS_PID 2>/dev/null" || fail "litestream did not stop"
}
# s3_matches: walship's restore of the S3 replica holds every row of DB.
s3_matches() {
	local out="$T/.probe.db"
	rm -f "$out"
	"$WALSHIP" restore -o "$out" "$URL" >/dev/null 2>&1 || return 1
	[ "$(table_sum "$out")" == "$(table_sum "$DB")" ]
}
generations() {
	aws_s3 s3api list-objects-v2 --bucket bkt --prefix "$PREFIX/generations/" \
		--delimiter / --query 'CommonPrefixes[].Prefix' --output text |
		tr '\t' '\n' | sed -n 's|.*/generations/\([0-9a-f]*\)/$|\1|p'
}

log "Litestream replicates to s3rver under a running writer"
run_litestream
LAST=$(writer "$DB" 3 80)
wait_for 30 s3_matches || fail "the replica did not catch up"
sleep 1.1
MID=$(rfc3339_now)
MID_SUM=$(table_sum "$DB")
sleep 1.1
LAST=$(writer "$DB" 3 80 $((LAST + 1)))
wait_for 30 s3_matches || fail "the replica did not catch up"
stop_litestream
OLD_SUM=$(table_sum "$DB")
OLD_GEN=$(generations)
[ "$(echo "$OLD_GEN" | wc -l)" -eq 1 ] || fail "expected one generation, got: $OLD_GEN"

log "the database changes while Litestream is down: a second generation"
sqlite3 "$DB" "INSERT INTO t(id, v) VALUES (1000000, 'offline');" >/dev/null
run_litestream
writer "$DB" 2 80 $((LAST + 1)) >/dev/null
wait_for 30 s3_matches || fail "the replica did not catch up"
stop_litestream
NEW_SUM=$(table_sum "$DB")
[ "$(generations | wc -l)" -eq 2 ] || fail "expected two generations: $(generations)"
NEW_GEN=$(generations | grep -v "$OLD_GEN")

log "latest, by config"
"$WALSHIP" restore -config "$T/ls.yml" -o "$T/latest.db" "$DB" 2>"$T/latest.err" ||
	fail "restore failed: $(cat "$T/latest.err")"
assert_eq "$(table_sum "$T/latest.db")" "$NEW_SUM" "latest content"
assert_eq "$(integrity "$T/latest.db")" ok "integrity"
ls -a "$T" | grep -E 'latest\.db-(wal|shm)|\.tmp' && fail "restore left files behind"

log "latest, by URL, with 1, 4 and 16 download threads"
NIDX=$("$WALSHIP" wal -generation "$NEW_GEN" "$URL" | awk 'NR > 1 { print $3 }' | sort -u | wc -l)
[ "$NIDX" -ge 2 ] || fail "want several WAL indexes in $NEW_GEN, have $NIDX"
for p in 1 4 16; do
	"$WALSHIP" restore -parallelism "$p" -o "$T/url-$p.db" "$URL" 2>"$T/url-$p.err" ||
		fail "restore -parallelism $p failed: $(cat "$T/url-$p.err")"
	assert_eq "$(table_sum "$T/url-$p.db")" "$NEW_SUM" "content with -parallelism $p"
	assert_eq "$(integrity "$T/url-$p.db")" ok "integrity with -parallelism $p"
done
# Each thread borrows its own S3 connection (a lane): with several threads
# downloading $NIDX indexes at once the client needs more than one.
"$WALSHIP" restore -config "$T/dbg.yml" -parallelism 8 -o "$T/par.db" "$DB" 2>"$T/par.err" ||
	fail "restore -parallelism 8 failed: $(cat "$T/par.err")"
assert_eq "$(table_sum "$T/par.db")" "$NEW_SUM" "content with -parallelism 8"
LANES=$(sed -n 's/.*msg="s3 replica requests".* lanes=\([0-9]*\).*/\1/p' "$T/par.err")
[ -n "$LANES" ] || fail "no request summary in the debug log: $(tail -5 "$T/par.err")"
[ "$LANES" -ge 2 ] || fail "-parallelism 8 over $NIDX indexes used $LANES connection(s)"
echo "-parallelism 8 over $NIDX indexes: $LANES lanes"

log "point in time $MID"
"$WALSHIP" restore -config "$T/ls.yml" -o "$T/mid.db" -timestamp "$MID" "$DB" ||
	fail "timestamp restore failed"
assert_eq "$(table_sum "$T/mid.db")" "$MID_SUM" "content at $MID"
assert_eq "$(integrity "$T/mid.db")" ok "integrity"

log "older generation $OLD_GEN, by URL"
"$WALSHIP" restore -generation "$OLD_GEN" -o "$T/old.db" "$URL" ||
	fail "generation restore failed"
assert_eq "$(table_sum "$T/old.db")" "$OLD_SUM" "old generation content"
assert_eq "$(integrity "$T/old.db")" ok "integrity"

log "Litestream agrees on the same replica"
"$LITESTREAM" restore -config "$T/ls.yml" -o "$T/ls-latest.db" "$DB" >"$T/ls-restore.log" 2>&1 ||
	fail "litestream restore failed: $(cat "$T/ls-restore.log")"
assert_eq "$(table_sum "$T/ls-latest.db")" "$NEW_SUM" "litestream's own restore"

log "generations, snapshots and wal print what Litestream prints"
for cmd in snapshots wal; do
	"$LITESTREAM" "$cmd" -config "$T/ls.yml" "$DB" >"$T/ls-$cmd.txt" 2>"$T/ls-$cmd.err"
	"$WALSHIP" "$cmd" -config "$T/ls.yml" "$DB" >"$T/ws-$cmd.txt" 2>"$T/ws-$cmd.err"
	[ "$(wc -l <"$T/ws-$cmd.txt")" -gt 2 ] || fail "$cmd listed nothing: $(cat "$T/ws-$cmd.err")"
	assert_same_output "$cmd by config" "$T/ls-$cmd.txt" "$T/ws-$cmd.txt"
	"$LITESTREAM" "$cmd" "$URL" >"$T/ls-$cmd-url.txt" 2>/dev/null
	"$WALSHIP" "$cmd" "$URL" >"$T/ws-$cmd-url.txt" 2>/dev/null
	assert_same_output "$cmd by URL" "$T/ls-$cmd-url.txt" "$T/ws-$cmd-url.txt"
done
"$LITESTREAM" wal -generation "$OLD_GEN" "$URL" >"$T/ls-wal-gen.txt" 2>/dev/null
"$WALSHIP" wal -generation "$OLD_GEN" "$URL" >"$T/ws-wal-gen.txt" 2>/dev/null
assert_same_output "wal -generation" "$T/ls-wal-gen.txt" "$T/ws-wal-gen.txt"
# The lag column moves with the clock: compare the others.
"$LITESTREAM" generations -config "$T/ls.yml" "$DB" 2>/dev/null |
	awk '{ print $1, $2, $4, $5 }' >"$T/ls-gens.txt"
"$WALSHIP" generations -config "$T/ls.yml" "$DB" 2>/dev/null |
	awk '{ print $1, $2, $4, $5 }' >"$T/ws-gens.txt"
[ "$(wc -l <"$T/ws-gens.txt")" -eq 3 ] || fail "want two generations listed: $(cat "$T/ws-gens.txt")"
assert_same_output "generations" "$T/ls-gens.txt" "$T/ws-gens.txt"

log "wrong credentials: an error that says what to fix, exit non-zero"
if AWS_SECRET_ACCESS_KEY=NotTheSecret-42 "$WALSHIP" restore -o "$T/cred.db" "$URL" 2>"$T/cred.err"; then
	fail "restore with a wrong secret succeeded"
fi
cat "$T/cred.err"
grep -q "wrong secret access key" "$T/cred.err" || fail "no hint about the secret"
grep -q "SignatureDoesNotMatch" "$T/cred.err" || fail "the store's code is missing"
grep -q "s3://bkt/$PREFIX/generations/" "$T/cred.err" || fail "the error does not name bucket and key"
grep -q "NotTheSecret-42" "$T/cred.err" && fail "the secret is in the error"
[ -e "$T/cred.db" ] && fail "a failed restore left the output"
if AWS_ACCESS_KEY_ID=NOSUCHKEY "$WALSHIP" restore -o "$T/cred.db" "$URL" 2>"$T/akid.err"; then
	fail "restore with an unknown key id succeeded"
fi
grep -q "unknown access key id" "$T/akid.err" || fail "no hint about the key id: $(cat "$T/akid.err")"
# The list commands log the same error (and, like Litestream's, exit 0).
AWS_SECRET_ACCESS_KEY=NotTheSecret-42 "$WALSHIP" generations "$URL" >/dev/null 2>"$T/cred-list.err" || true
grep -q "wrong secret access key" "$T/cred-list.err" ||
	fail "generations does not say why: $(cat "$T/cred-list.err")"
if "$WALSHIP" restore -o "$T/nobkt.db" "s3://nobucket.localhost:$S3_PORT/app/db" 2>"$T/nobkt.err"; then
	fail "restore from a missing bucket succeeded"
fi
grep -q "the bucket does not exist" "$T/nobkt.err" || fail "no hint about the bucket: $(cat "$T/nobkt.err")"

log "a missing middle segment fails loudly"
MIDSEG=$(aws_s3 s3api list-objects-v2 --bucket bkt \
	--prefix "$PREFIX/generations/$OLD_GEN/wal/" --query 'Contents[].Key' --output text |
	tr '\t' '\n' | middle_segment)
[ -n "$MIDSEG" ] || fail "no index with two or more segments"
aws_s3 s3api delete-object --bucket bkt --key "$MIDSEG" >/dev/null
if "$WALSHIP" restore -generation "$OLD_GEN" -o "$T/gap.db" "$URL" 2>"$T/gap.err"; then
	fail "restore with a missing segment succeeded"
fi
cat "$T/gap.err"
grep -q "generations/$OLD_GEN/wal/" "$T/gap.err" || fail "error does not name the object"
[ -e "$T/gap.db" ] && fail "failed restore left the output"
ls -a "$T" | grep -q 'gap\.db' && fail "failed restore left temporary files"
echo "all S3 restores right"
