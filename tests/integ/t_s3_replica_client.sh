#!/bin/bash
# The S3 replica client (replica/s3_replica.c) against s3rver, through
# tests/tools/replctl, cross-checked with awscli: objects written through it
# land under the cleaned prefix byte-exact (in memory, spooled to a file,
# multipart), reads stream a 64 MiB snapshot in bounded memory, listings
# are complete and sorted, 12 threads sharing one client download every
# segment right, single deletes and a generation of 1005 objects (two
# DeleteObjects batches) go, and a missing object names its key.
. "$(dirname "$0")/lib.sh"

REPLCTL="$ROOT/$BUILD/tools/replctl"
[ -x "$REPLCTL" ] || fail "$REPLCTL not built (make $BUILD/tools/replctl)"

start_s3rver bkt
rc() { "$REPLCTL" -e "$S3_ENDPOINT" -b bkt -P -p "/lead//db/" "$@"; }
G1=0123456789abcdef
G2=fedcba9876543210
P=lead/db/generations

log "writes land under the cleaned prefix, byte-exact"
printf 'small snapshot' >"$T/small"
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$T/mid"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$T/big"
rc put $G1 wal 1 0 "$T/small" 2>"$T/put1.err" || fail "put: $(cat "$T/put1.err")"
rc put $G1 wal 1 2000 "$T/mid" 2>"$T/put2.err" || fail "put spooled: $(cat "$T/put2.err")"
rc put $G1 snapshot 1 "$T/big" 2>"$T/put3.err" || fail "put multipart: $(cat "$T/put3.err")"
cat "$T/put3.err"
grep -q 'PUT=15 ' "$T/put3.err" || fail "want create + 13 parts + complete"
MAXRSS=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$T/put3.err")
[ "$MAXRSS" -lt 40000 ] || fail "a 64 MiB upload took $MAXRSS KiB"
aws_s3 s3api get-object --bucket bkt --key "$P/$G1/wal/00000001_00000000.wal.lz4" "$T/a1" >/dev/null
cmp "$T/small" "$T/a1" || fail "small object differs"
aws_s3 s3api get-object --bucket bkt --key "$P/$G1/wal/00000001_00002000.wal.lz4" "$T/a2" >/dev/null
cmp "$T/mid" "$T/a2" || fail "spooled object differs"
aws_s3 s3api get-object --bucket bkt --key "$P/$G1/snapshots/00000001.snapshot.lz4" "$T/a3" >/dev/null
cmp "$T/big" "$T/a3" || fail "multipart object differs"

log "reads stream in bounded memory"
rc get $G1 snapshot 1 "$T/g3" 2>"$T/get3.err" || fail "get: $(cat "$T/get3.err")"
cat "$T/get3.err"
cmp "$T/big" "$T/g3" || fail "get returned other bytes"
MAXRSS=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$T/get3.err")
[ "$MAXRSS" -lt 40000 ] || fail "a 64 MiB download took $MAXRSS KiB"
rc get $G1 wal 1 2000 "$T/g2" 2>/dev/null || fail "get spooled"
cmp "$T/mid" "$T/g2" || fail "get returned other bytes"

log "a missing object: ENOENT naming the key"
if rc get $G1 wal 9 0 "$T/none" 2>"$T/none.err"; then fail "get of a missing key succeeded"; fi
grep -q "GetObject s3://bkt/$P/$G1/wal/00000009_00000000.wal.lz4 .*no such object" "$T/none.err" ||
	fail "error does not name the key: $(cat "$T/none.err")"

log "listings: generations, then a generation's objects, sorted"
mkdir -p "$T/segs"
for i in $(seq 0 39); do
	printf 'segment %d' "$i" >"$T/segs/$(printf '%08x_%08x' $((i % 4)) $((i * 100))).wal.lz4"
done
aws_s3 s3 cp --recursive --quiet "$T/segs" "s3://bkt/$P/$G2/wal/"
aws_s3 s3api put-object --bucket bkt --key "$P/$G2/wal/junk.tmp" --body "$T/small" >/dev/null
aws_s3 s3api put-object --bucket bkt --key "$P/NOTAGENERATION/x" --body "$T/small" >/dev/null
assert_eq "$(rc ls 2>/dev/null | tr '\n' ' ')" "$G1 $G2 " "generations"
rc ls $G2 2>/dev/null >"$T/ls.txt"
assert_eq "$(grep -c '^wal ' "$T/ls.txt")" 40 "segments listed"
awk '{ print $2, $3 }' "$T/ls.txt" | sort -c 2>/dev/null || fail "listing not sorted by (index, offset)"
ls "$T/segs" | sed 's/\.wal\.lz4$//; s/_/ /' | sort >"$T/want.txt"
awk '{ print $2, $3 }' "$T/ls.txt" | diff -u "$T/want.txt" - || fail "listing differs"

log "12 threads share one client"
mkdir -p "$T/dl"
rc getall $G2 12 "$T/dl" 2>"$T/getall.err" || fail "getall: $(cat "$T/getall.err")"
cat "$T/getall.err"
for f in "$T"/segs/*; do
	n=$(basename "$f" .wal.lz4)
	cmp "$f" "$T/dl/$n" || fail "segment $n differs"
done
LANES=$(sed -n 's/.*lanes=\([0-9]*\).*/\1/p' "$T/getall.err")
[ "$LANES" -ge 2 ] && [ "$LANES" -le 13 ] || fail "12 threads used $LANES lanes"

log "deletes: one object, a missing one, a generation of 1005 objects"
rc rm $G1 wal 1 0 2>/dev/null || fail "rm failed"
rc rm $G1 wal 1 0 2>/dev/null || fail "rm of a missing key failed"
aws_s3 s3api head-object --bucket bkt --key "$P/$G1/wal/00000001_00000000.wal.lz4" >/dev/null 2>&1 &&
	fail "the object is still there"
mkdir -p "$T/many"
for i in $(seq 1 1005); do echo "$i" >"$T/many/$(printf '00000000_%08x' "$i").wal.lz4"; done
aws_s3 s3 cp --recursive --quiet "$T/many" "s3://bkt/$P/$G2/wal/"
rc rmgen $G2 2>"$T/rmgen.err" || fail "rmgen: $(cat "$T/rmgen.err")"
cat "$T/rmgen.err"
# s3rver may answer a batch with a 500 (it races removing the emptied
# directory), which the client retries: 2 batches plus the retries.
DELS=$(sed -n 's/.*DELETE=\([0-9]*\) retries=\([0-9]*\).*/\1 \2/p' "$T/rmgen.err")
[ "${DELS% *}" -eq $((2 + ${DELS#* })) ] || fail "want 2 DeleteObjects batches for 1046 objects"
assert_eq "$(aws_s3 s3api list-objects-v2 --bucket bkt --prefix "$P/$G2/" \
	--query 'length(Contents || `[]`)')" 0 "objects left in the generation"
assert_eq "$(rc ls 2>/dev/null | tr '\n' ' ')" "$G1 " "generations after rmgen"
aws_s3 s3api head-object --bucket bkt --key "$P/NOTAGENERATION/x" >/dev/null ||
	fail "rmgen deleted outside the generation"
echo "S3 replica client right"
