#!/bin/bash
# age and server-side encryption on S3 replicas (s3rver), both ways with
# Litestream v0.3.13: walship replicates with age (and encryption: aes256,
# the form guides use) and Litestream restores the latest state and a point
# in time; a snapshot large enough for a multipart upload is encrypted on
# the fly; an uploader without its position file finds it by decrypting the
# newest segment; Litestream replicates with age and walship restores it;
# a wrong key fails naming the key. Every write (PUT, CreateMultipartUpload)
# carries the SSE headers, signed: s3rver logs what it received.
. "$(dirname "$0")/lib.sh"

SAMPLE="$ROOT/tests/unit/age_vectors/litestream-sample"
ID=$(grep '^AGE-SECRET-KEY-1' "$SAMPLE/key.txt")
RCPT=age14e83rlkg37j0qgtl8c2g30yr585z5nng588eyqw8rjmlp4ael9mqd98p8w
OTHER_ID=AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX
install -m 600 "$SAMPLE/key.txt" "$T/key.txt"
MARK=plaintext-marker-51c9

export S3RVER_HEADER_LOG="$T/headers.jsonl"
start_s3rver bkt

DB="$T/data/app.db"
mkdir -p "$T/data"
# 6 MB of random bytes: the snapshot needs a multipart upload.
sqlite3 "$DB" "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
	CREATE TABLE big(b BLOB); INSERT INTO big VALUES (randomblob(6000000));
	INSERT INTO t(id, v) VALUES (0, '$MARK');" >/dev/null

s3_replica() {	# PREFIX AGE_LINES...
	local prefix=$1
	shift
	echo "      - type: s3"
	echo "        name: ${prefix%%/*}"
	echo "        bucket: bkt"
	echo "        path: $prefix"
	echo "        endpoint: $S3_ENDPOINT"
	echo "        region: us-east-1"
	echo "        force-path-style: true"
	echo "        sync-interval: 200ms"
	if [ $# -gt 0 ]; then
		echo "        age:"
		for l in "$@"; do echo "          $l"; done
	fi
}
db_head() {
	echo "user: root"
	echo "dbs:"
	echo "  - path: $DB"
	echo "    monitor-interval: 100ms"
	echo "    min-checkpoint-page-count: 50"
	echo "    replicas:"
}
{
	db_head
	s3_replica w/db "recipients: [$RCPT]" "identity-file: $T/key.txt"
	echo "        encryption: aes256"
	s3_replica k/db
	echo "        sse: aws:kms"
	echo "        sse-kms-key-id: alias/walship-test"
} >"$T/w.yml"
{ db_head; s3_replica w/db "identities: [$ID]"; } >"$T/ls-read.yml"
{ db_head; s3_replica w/db "identity-file: $T/key.txt"; } >"$T/w-read.yml"
{ db_head; s3_replica w/db "identities: [$OTHER_ID]"; } >"$T/wrong.yml"

matches() {	# CONFIG [REPLICA]
	local out="$T/.probe.db"
	rm -f "$out"
	"$WALSHIP" restore -config "$1" ${2:+-replica "$2"} -o "$out" "$DB" >/dev/null 2>&1 || return 1
	[ "$(table_sum "$out")" == "$(table_sum "$DB")" ]
}
start_walship() {
	spawn walship "$WALSHIP" replicate -config "$T/w.yml"
	WS_PID=$SPAWN_PID
}
stop_walship() {
	kill -TERM "$WS_PID"
	wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
}

log "walship replicates with age and SSE to s3rver"
start_walship
LAST=$(writer "$DB" 3 80)
wait_for 60 matches "$T/w-read.yml" || fail "replica did not catch up: $(tail -5 "$T/walship.log")"
sleep 1.1
MID=$(rfc3339_now)
MID_SUM=$(table_sum "$DB")
sleep 1.1
LAST=$(writer "$DB" 2 80 $((LAST + 1)))
wait_for 30 matches "$T/w-read.yml" || fail "replica did not catch up"
wait_for 30 matches "$T/w.yml" k || fail "the kms replica did not catch up"

log "without its position file, an uploader decrypts the newest segment to resume"
UP=$(child_pid "$WS_PID" "walship: uploader $DB -> w")
[ -n "$UP" ] || fail "no uploader for w"
rm -f "$T/data/.app.db-litestream/walship/w.pos"
kill -KILL "$UP"
wait_for 30 bash -c "p=\$(ps -o pid=,args= --ppid $WS_PID | awk '\$2 == \"walship:\" && /-> w\$/ { print \$1 }'); [ -n \"\$p\" ] && [ \"\$p\" != $UP ]" ||
	fail "the uploader was not restarted"
LAST=$(writer "$DB" 2 80 $((LAST + 1)))
wait_for 30 matches "$T/w-read.yml" || fail "replica did not catch up after the restart: $(tail -5 "$T/walship.log")"
grep -q 'msg="replica position".*position=[0-9a-f]\{16\}/[0-9a-f]\{8\}:[1-9][0-9]* from=replica' "$T/walship.log" ||
	fail "no position found by reading the replica: $(grep 'replica position' "$T/walship.log")"
[ "$(aws_s3 s3 ls --recursive s3://bkt/w/db/generations/ | grep -c snapshots/)" -eq 1 ] ||
	fail "the restart began a new snapshot instead of resuming"
stop_walship
grep -q "encryption: read as sse: AES256: this is S3 server-side encryption.*use age:" "$T/walship.log" ||
	fail "no log line about encryption: aes256"
! grep -q "AGE-SECRET-KEY" "$T/walship.log" || fail "a key in walship's log"

log "every write carried the SSE headers, signed"
python3 - "$T/headers.jsonl" <<'PY' || fail "SSE headers missing"
import json, sys
n = {"w": 0, "k": 0, "multipart": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)
    path = r["url"].split("?")[0]
    if not path.startswith(("/bkt/w/", "/bkt/k/")):
        continue
    part = "partNumber=" in r["url"] or "uploadId=" in r["url"]
    write = (r["method"] == "PUT" and not part) or (r["method"] == "POST" and r["url"].split("?")[1:] in (["uploads"], ["uploads="]))
    if not write:
        continue
    which = path.split("/")[2]
    want = ("AES256", None) if which == "w" else ("aws:kms", "alias/walship-test")
    got = (r["sse"], r["kms"])
    signed = set(r["signed"])
    if got != want or "x-amz-server-side-encryption" not in signed or \
            (want[1] and "x-amz-server-side-encryption-aws-kms-key-id" not in signed):
        sys.exit("%s %s: sse %s, signed %s" % (r["method"], r["url"], got, sorted(signed)))
    n[which] += 1
    if r["method"] == "POST":
        n["multipart"] += 1
print(n)
if n["w"] < 3 or n["k"] < 3 or n["multipart"] < 2:
    sys.exit("too few writes seen: %s" % n)
PY

log "no object of the age replica is readable without the key"
aws_s3 s3 cp --recursive --quiet "s3://bkt/w/db/" "$T/w-objects"
n=0
for obj in $(find "$T/w-objects" -name '*.lz4'); do
	n=$((n + 1))
	[ "$(head -c 22 "$obj")" = "age-encryption.org/v1" ] || fail "$obj is not an age file"
	! grep -qa -e "$MARK" -e "SQLite format 3" "$obj" || fail "$obj holds plaintext"
	lz4 -dc "$obj" 2>/dev/null | grep -qa -e "$MARK" -e "SQLite format 3" && fail "lz4 -d of $obj gives plaintext"
done
[ "$n" -ge 2 ] || fail "expected snapshot and segments, found $n"

log "Litestream restores walship's age replica from S3: latest and -timestamp"
SUM=$(table_sum "$DB")
"$LITESTREAM" restore -config "$T/ls-read.yml" -o "$T/ls-latest.db" "$DB" >"$T/ls1.log" 2>&1 ||
	fail "litestream restore failed: $(cat "$T/ls1.log")"
assert_eq "$(table_sum "$T/ls-latest.db")" "$SUM" "litestream latest"
assert_eq "$(integrity "$T/ls-latest.db")" ok "integrity"
"$LITESTREAM" restore -config "$T/ls-read.yml" -timestamp "$MID" -o "$T/ls-mid.db" "$DB" >"$T/ls2.log" 2>&1 ||
	fail "litestream restore -timestamp failed: $(cat "$T/ls2.log")"
assert_eq "$(table_sum "$T/ls-mid.db")" "$MID_SUM" "litestream point in time"

log "a wrong key fails, naming the object, leaving nothing"
if "$WALSHIP" restore -config "$T/wrong.yml" -o "$T/wrong.db" "$DB" >"$T/wrong.out" 2>&1; then
	fail "restore with a wrong key succeeded"
fi
grep -q "s3://bkt/w/db/generations/.*lz4.*no identity matches" "$T/wrong.out" ||
	fail "wrong key: $(cat "$T/wrong.out")"
[ ! -e "$T/wrong.db" ] || fail "something at -o"

log "Litestream replicates with age to S3; walship restores it (latest, -timestamp)"
rm -rf "$DB" "$DB-wal" "$DB-shm" "$T/data/.app.db-litestream"
sqlite3 "$DB" "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" >/dev/null
{ db_head; s3_replica ls/db "identities: [$ID]" "recipients: [$RCPT]"; } >"$T/ls-write.yml"
{ db_head; s3_replica ls/db "identity-file: $T/key.txt"; } >"$T/ls-w-read.yml"
spawn litestream "$LITESTREAM" replicate -config "$T/ls-write.yml"
LS_PID=$SPAWN_PID
wait_for 20 grep -q "snapshot written" "$T/litestream.log" ||
	fail "litestream did not start: $(tail -5 "$T/litestream.log")"
LAST=$(writer "$DB" 3 80)
wait_for 30 matches "$T/ls-w-read.yml" || fail "walship cannot restore Litestream's S3 replica"
sleep 1.1
MID=$(rfc3339_now)
MID_SUM=$(table_sum "$DB")
sleep 1.1
writer "$DB" 2 80 $((LAST + 1)) >/dev/null
wait_for 30 matches "$T/ls-w-read.yml" || fail "walship cannot restore Litestream's S3 replica"
kill -TERM "$LS_PID"
wait_for 30 bash -c "! kill -0 $LS_PID 2>/dev/null" || fail "litestream did not stop"
"$WALSHIP" restore -config "$T/ls-w-read.yml" -timestamp "$MID" -o "$T/ls-mid-w.db" "$DB" 2>"$T/r.err" ||
	fail "walship -timestamp of Litestream's S3 replica failed: $(cat "$T/r.err")"
assert_eq "$(table_sum "$T/ls-mid-w.db")" "$MID_SUM" "point in time of Litestream's replica"
assert_eq "$(integrity "$T/ls-mid-w.db")" ok "integrity"
echo "age s3 ok"
