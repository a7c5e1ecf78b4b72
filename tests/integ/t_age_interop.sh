#!/bin/bash
# Client-side encryption (age) on directory replicas, both ways with
# Litestream v0.3.13: walship replicates with an age: block and Litestream
# restores the latest state and a point in time; Litestream replicates with
# age and walship restores both. No object is readable without the key (no
# SQLite header, no row content, not even after an lz4 -d attempt). A wrong
# key, a tampered or truncated object, a missing identity and an identity
# file others can read all fail the restore naming what is wrong, with
# nothing at -o. The Litestream-made sample replica restores too.
. "$(dirname "$0")/lib.sh"

SAMPLE="$ROOT/tests/unit/age_vectors/litestream-sample"
ID=$(grep '^AGE-SECRET-KEY-1' "$SAMPLE/key.txt")
RCPT=age14e83rlkg37j0qgtl8c2g30yr585z5nng588eyqw8rjmlp4ael9mqd98p8w
# The sample key in a private key file, as an operator keeps it.
install -m 600 "$SAMPLE/key.txt" "$T/key.txt"
# A second, unrelated key (the age spec's example) for the wrong-key case.
OTHER_ID=AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX
MARK=plaintext-marker-7f3a

DB="$T/data/app.db"
mkdir -p "$T/data"
sqlite3 "$DB" "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
	INSERT INTO t(id, v) VALUES (0, '$MARK');" >/dev/null

# config FILE REPLICA_DIR AGE_LINES...: a config for DB with one encrypted
# directory replica.
config() {
	local f=$1 dir=$2
	shift 2
	{
		echo "user: root"
		echo "dbs:"
		echo "  - path: $DB"
		echo "    monitor-interval: 100ms"
		echo "    min-checkpoint-page-count: 50"
		echo "    replicas:"
		echo "      - type: file"
		echo "        path: $dir"
		echo "        sync-interval: 200ms"
		echo "        age:"
		for l in "$@"; do echo "          $l"; done
	} >"$f"
}
config "$T/w.yml" "$T/replica" "recipients: [$RCPT]" "identity-file: $T/key.txt"
config "$T/ls-read.yml" "$T/replica" "identities: [$ID]" "recipients: [$RCPT]"

# matches CONFIG: walship restores (through CONFIG's key) every row of DB.
matches() {
	local out="$T/.probe.db"
	rm -f "$out"
	"$WALSHIP" restore -config "$1" -o "$out" "$DB" >/dev/null 2>&1 || return 1
	[ "$(table_sum "$out")" == "$(table_sum "$DB")" ]
}

log "walship replicates with age under a running writer"
spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
LAST=$(writer "$DB" 3 100)
wait_for 30 matches "$T/w.yml" || fail "replica did not catch up: $(tail -5 "$T/walship.log")"
sleep 1.1
MID=$(rfc3339_now)
MID_SUM=$(table_sum "$DB")
sleep 1.1
writer "$DB" 3 100 $((LAST + 1)) >/dev/null
wait_for 30 matches "$T/w.yml" || fail "replica did not catch up"
kill -TERM "$WS_PID"
wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
SUM=$(table_sum "$DB")

log "no object is readable without the key"
n=0
for obj in $(find "$T/replica" -name '*.lz4'); do
	n=$((n + 1))
	[ "$(head -c 22 "$obj")" = "age-encryption.org/v1" ] || fail "$obj is not an age file"
	! grep -qa "SQLite format 3" "$obj" || fail "$obj holds an SQLite header"
	! grep -qa "$MARK" "$obj" || fail "$obj holds row content"
	if lz4 -dc "$obj" >"$T/.dec" 2>/dev/null || [ -s "$T/.dec" ]; then
		! grep -qa -e "$MARK" -e "SQLite format 3" "$T/.dec" ||
			fail "lz4 -d of $obj gives plaintext"
	fi
done
[ "$n" -ge 2 ] || fail "expected snapshot and segments, found $n objects"
! grep -q "AGE-SECRET-KEY" "$T/walship.log" || fail "a key in walship's log"

log "Litestream restores walship's encrypted replica: latest and -timestamp"
"$LITESTREAM" restore -config "$T/ls-read.yml" -o "$T/ls-latest.db" "$DB" >"$T/ls1.log" 2>&1 ||
	fail "litestream restore failed: $(cat "$T/ls1.log")"
assert_eq "$(table_sum "$T/ls-latest.db")" "$SUM" "litestream latest"
assert_eq "$(integrity "$T/ls-latest.db")" ok "integrity"
"$LITESTREAM" restore -config "$T/ls-read.yml" -timestamp "$MID" -o "$T/ls-mid.db" "$DB" >"$T/ls2.log" 2>&1 ||
	fail "litestream restore -timestamp failed: $(cat "$T/ls2.log")"
assert_eq "$(table_sum "$T/ls-mid.db")" "$MID_SUM" "litestream point in time"

log "walship restores it too, with the key in the config or in a file"
"$WALSHIP" restore -config "$T/ls-read.yml" -timestamp "$MID" -o "$T/w-mid.db" "$DB" 2>"$T/r.err" ||
	fail "walship restore -timestamp failed: $(cat "$T/r.err")"
assert_eq "$(table_sum "$T/w-mid.db")" "$MID_SUM" "walship point in time"
"$WALSHIP" restore -config "$T/w.yml" -o "$T/w-latest.db" "$DB" 2>"$T/r.err" ||
	fail "walship restore failed: $(cat "$T/r.err")"
assert_eq "$(table_sum "$T/w-latest.db")" "$SUM" "walship latest"

# restore_fails NAME CONFIG WANT...: walship's restore fails, its error
# holds every WANT, and nothing is left at -o.
restore_fails() {
	local name=$1 cfg=$2
	shift 2
	if "$WALSHIP" restore -config "$cfg" -o "$T/$name.db" "$DB" >"$T/$name.out" 2>&1; then
		fail "$name: restore succeeded"
	fi
	for w in "$@"; do
		grep -qF -- "$w" "$T/$name.out" || fail "$name: no '$w' in: $(cat "$T/$name.out")"
	done
	[ ! -e "$T/$name.db" ] || fail "$name: something at -o"
	! ls "$T/$name.db"* >/dev/null 2>&1 || fail "$name: files left beside -o"
	! grep -q "AGE-SECRET-KEY" "$T/$name.out" || fail "$name: a key in the output"
}
SNAP=$(find "$T/replica" -name '*.snapshot.lz4' | head -1)
config "$T/wrong.yml" "$T/replica" "identities: [$OTHER_ID]"
restore_fails wrong-key "$T/wrong.yml" "$SNAP" "no identity matches"
config "$T/noid.yml" "$T/replica" "recipients: [$RCPT]"
restore_fails no-identity "$T/noid.yml" "$SNAP" "no identity"
grep -v '^age:' "$T/w.yml" | sed '/^ *age:/,$d' >"$T/plain.yml"
restore_fails no-age "$T/plain.yml" "$SNAP" "age-encrypted"
chmod 644 "$T/key.txt"
restore_fails open-key "$T/w.yml" "$T/key.txt" "chmod 600"
chmod 600 "$T/key.txt"

log "a tampered or truncated object fails the restore, naming it"
cp -a "$T/replica" "$T/bad"
config "$T/bad.yml" "$T/bad" "identities: [$ID]"
SEG=$(find "$T/bad" -name '*.wal.lz4' | sort | tail -1)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-20]^=1; open(p,"wb").write(b)' "$SEG"
restore_fails tampered "$T/bad.yml" "$SEG" "failed authentication"
cp -a "$T/replica/." "$T/bad/"
truncate -s -100 "$SEG"
restore_fails truncated "$T/bad.yml" "$SEG"

log "Litestream replicates with age; walship restores it (latest and -timestamp)"
rm -f "$DB" "$DB-wal" "$DB-shm"
rm -rf "$T/data/.app.db-litestream"
sqlite3 "$DB" "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" >/dev/null
config "$T/ls-write.yml" "$T/ls-replica" "identities: [$ID]" "recipients: [$RCPT]"
spawn litestream "$LITESTREAM" replicate -config "$T/ls-write.yml"
LS_PID=$SPAWN_PID
wait_for 20 grep -q "snapshot written" "$T/litestream.log" ||
	fail "litestream did not start: $(tail -5 "$T/litestream.log")"
LAST=$(writer "$DB" 3 100)
config "$T/ls-id.yml" "$T/ls-replica" "identity-file: $T/key.txt"
wait_for 30 matches "$T/ls-id.yml" || fail "walship cannot restore Litestream's replica"
sleep 1.1
MID=$(rfc3339_now)
MID_SUM=$(table_sum "$DB")
sleep 1.1
writer "$DB" 2 100 $((LAST + 1)) >/dev/null
wait_for 30 matches "$T/ls-id.yml" || fail "walship cannot restore Litestream's replica"
kill -TERM "$LS_PID"
wait_for 30 bash -c "! kill -0 $LS_PID 2>/dev/null" || fail "litestream did not stop"
[ "$(head -c 22 "$(find "$T/ls-replica" -name '*.snapshot.lz4' | head -1)")" = "age-encryption.org/v1" ] ||
	fail "Litestream did not encrypt"
"$WALSHIP" restore -config "$T/ls-id.yml" -timestamp "$MID" -o "$T/ls-mid-w.db" "$DB" 2>"$T/r.err" ||
	fail "walship -timestamp of Litestream's replica failed: $(cat "$T/r.err")"
assert_eq "$(table_sum "$T/ls-mid-w.db")" "$MID_SUM" "point in time of Litestream's replica"
assert_eq "$(integrity "$T/ls-mid-w.db")" ok "integrity"

log "the replicas Litestream made for the age sample restore"
for s in tiny multichunk; do
	cp -r "$SAMPLE/$s" "$T/sample-$s"
	cat >"$T/sample-$s.yml" <<YML
user: root
dbs:
  - path: $T/sample-$s.db
    replicas:
      - type: file
        path: $T/sample-$s
        age:
          identity-file: $T/key.txt
YML
	"$WALSHIP" restore -config "$T/sample-$s.yml" -o "$T/sample-$s-out.db" "$T/sample-$s.db" 2>"$T/r.err" ||
		fail "sample $s: $(cat "$T/r.err")"
done
assert_eq "$(sqlite3 "$T/sample-tiny-out.db" 'SELECT group_concat(v) FROM t')" \
	"walship,litestream,age,after-start" "tiny sample rows"
assert_eq "$(sqlite3 "$T/sample-multichunk-out.db" 'SELECT length(b) FROM t WHERE id = 4')" 160000 \
	"multichunk blob"
assert_eq "$(sqlite3 "$T/sample-multichunk-out.db" 'SELECT count(*) FROM t')" 5 "multichunk rows"
assert_eq "$(sqlite3 "$T/sample-multichunk-out.db" "SELECT v FROM t WHERE id = 5")" after-start "multichunk WAL row"
echo "age interop ok"
