#!/bin/bash
# The S3 client (s3/) against s3rver, through tests/tools/s3ctl, with what
# it wrote cross-checked by awscli: a 12 MiB multipart upload round-trips
# byte-exact, keys are normalized, listings page (1005 keys in pages of 100)
# and show CommonPrefixes two levels down, DeleteObjects goes in batches of
# 1000, a store without ListObjectsV2 or DeleteObjects gets the v1 and
# single-DELETE fallbacks, and the failures a user can fix (wrong secret,
# unknown key id, missing bucket, missing key, unreachable endpoint) give
# an error naming bucket, key and endpoint, never the secret.
. "$(dirname "$0")/lib.sh"

S3CTL="$ROOT/$BUILD/tools/s3ctl"
[ -x "$S3CTL" ] || fail "$S3CTL not built (make $BUILD/tools/s3ctl)"

start_s3rver bkt
s3() { "$S3CTL" -e "$S3_ENDPOINT" -b bkt -P "$@"; }
keys_of() { sed -n 's/^obj \(.*\) [0-9]*$/\1/p' "$1"; }

log "multipart upload of 12 MiB, byte-exact both ways"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
s3 put db/big.bin "$T/big.bin" 2>"$T/put.err" || fail "put: $(cat "$T/put.err")"
grep -q 'PUT=5 ' "$T/put.err" || fail "want create + 3 parts + complete: $(cat "$T/put.err")"
aws_s3 s3api get-object --bucket bkt --key db/big.bin "$T/big.aws" >/dev/null
cmp "$T/big.bin" "$T/big.aws" || fail "awscli reads other bytes than were put"
s3 get db/big.bin "$T/big.get" 2>/dev/null || fail "get failed"
cmp "$T/big.bin" "$T/big.get" || fail "get returned other bytes"
assert_eq "$(s3 head db/big.bin 2>/dev/null | sed 's/ .*//')" "size=12582912" "head size"
s3 get db/big.bin "$T/range.get" 5242870 20 2>/dev/null || fail "ranged get failed"
cmp <(tail -c +5242871 "$T/big.bin" | head -c 20) "$T/range.get" ||
	fail "ranged get returned other bytes"

log "single PUT from memory, normalized keys, a client prefix"
printf 'hello, s3' >"$T/small"
s3 putmem "/db//dir/x y+z.txt" "$T/small" 2>/dev/null || fail "putmem failed"
aws_s3 s3api get-object --bucket bkt --key "db/dir/x y+z.txt" "$T/small.aws" >/dev/null ||
	fail "the key was not normalized to db/dir/x y+z.txt"
cmp "$T/small" "$T/small.aws" || fail "small object differs"
assert_eq "$(aws_s3 s3api head-object --bucket bkt --key "db/dir/x y+z.txt" --query ETag --output text)" \
	"\"$(md5sum "$T/small" | cut -d' ' -f1)\"" "single PUT ETag"
"$S3CTL" -e "$S3_ENDPOINT" -b bkt -P -p "/lead//db/" putmem k "$T/small" 2>/dev/null ||
	fail "putmem under a prefix failed"
aws_s3 s3api head-object --bucket bkt --key lead/db/k >/dev/null ||
	fail "a leading-slash prefix did not become lead/db/"

log "listing 1005 keys in pages of 100, and prefixes two levels down"
mkdir -p "$T/many/sub/deep"
for i in $(seq -w 1 1005); do echo "$i" >"$T/many/k$i"; done
echo deep >"$T/many/sub/deep/x"
aws_s3 s3 cp --recursive --quiet "$T/many" s3://bkt/many/
s3 -m 100 list many/ / >"$T/list.txt" 2>"$T/list.err" || fail "list: $(cat "$T/list.err")"
assert_eq "$(grep -c '^obj ' "$T/list.txt")" 1005 "objects listed"
assert_eq "$(grep '^pre ' "$T/list.txt")" "pre many/sub/" "common prefixes"
grep -q 'LIST=11 ' "$T/list.err" || fail "want 11 pages: $(cat "$T/list.err")"
aws_s3 s3api list-objects-v2 --bucket bkt --prefix many/ --delimiter / \
	--query 'Contents[].Key' --output text | tr '\t' '\n' | sort >"$T/list.aws"
keys_of "$T/list.txt" | sort | diff -u "$T/list.aws" - || fail "listing differs from awscli's"
assert_eq "$(s3 list "" / 2>/dev/null | tr '\n' ' ')" "pre db/ pre lead/ pre many/ " \
	"top-level prefixes"
assert_eq "$(s3 list many/sub/ / 2>/dev/null)" "pre many/sub/deep/" "a prefix two levels down"
assert_eq "$(s3 list many/k100 "" many/k1002 2>/dev/null | tr '\n' ' ')" \
	"obj many/k1003 5 obj many/k1004 5 obj many/k1005 5 " "start-after"

log "DeleteObjects in batches of 1000"
keys_of "$T/list.txt" | s3 delete - 2>"$T/del.err" || fail "delete: $(cat "$T/del.err")"
grep -q 'DELETE=2 ' "$T/del.err" || fail "want 2 batches: $(cat "$T/del.err")"
assert_eq "$(aws_s3 s3api list-objects-v2 --bucket bkt --prefix many/k \
	--query 'length(Contents || `[]`)')" 0 \
	"keys left after the batch delete"

log "a store without ListObjectsV2 and DeleteObjects"
S3RVER_NO_V2=1 S3RVER_NO_MULTI_DELETE=1 start_s3rver old
old() { "$S3CTL" -e "$S3_ENDPOINT" -b old -P "$@"; }
mkdir -p "$T/few"
for i in $(seq -w 1 30); do echo "$i" >"$T/few/f$i"; done
aws_s3 s3 cp --recursive --quiet "$T/few" s3://old/few/
old -m 10 list few/ >"$T/old.txt" 2>"$T/old.err" || fail "v1 list: $(cat "$T/old.err")"
assert_eq "$(grep -c '^obj ' "$T/old.txt")" 30 "objects listed through ListObjects v1"
grep -q 'retries=0' "$T/old.err" || fail "NotImplemented was retried: $(cat "$T/old.err")"
keys_of "$T/old.txt" | old delete - 2>"$T/olddel.err" || fail "single deletes: $(cat "$T/olddel.err")"
grep -q 'DELETE=31 ' "$T/olddel.err" || fail "want 1 refused batch + 30 DELETEs: $(cat "$T/olddel.err")"
assert_eq "$(old list few/ 2>/dev/null | wc -l)" 0 "keys left after single deletes"

log "errors a user can act on"
start_s3rver bkt
expect_error() { # DESC PATTERN... (stderr of the last command in $T/err)
	local desc=$1
	shift
	for p in "$@"; do
		grep -qF -- "$p" "$T/err" || fail "$desc: no '$p' in: $(cat "$T/err")"
	done
}
AWS_SECRET_ACCESS_KEY=Sekrit-Value-123 s3 putmem db/x "$T/small" 2>"$T/err" &&
	fail "a wrong secret was accepted"
expect_error "wrong secret" "wrong secret access key" SignatureDoesNotMatch \
	"s3://bkt/db/x" "$S3_ENDPOINT"
grep -q Sekrit "$T/err" && fail "the secret was printed"
AWS_SECRET_ACCESS_KEY=Sekrit-Value-123 s3 put db/big2 "$T/big.bin" 2>"$T/err" &&
	fail "a wrong secret was accepted (multipart)"
expect_error "wrong secret, multipart" "wrong secret access key" CreateMultipartUpload
AWS_ACCESS_KEY_ID=NOSUCHKEY s3 get db/big.bin "$T/x" 2>"$T/err" && fail "an unknown key id was accepted"
expect_error "unknown key id" "unknown access key id" InvalidAccessKeyId "s3://bkt/db/big.bin"
"$S3CTL" -e "$S3_ENDPOINT" -b nobucket -P putmem db/x "$T/small" 2>"$T/err" &&
	fail "a missing bucket was accepted"
expect_error "missing bucket" "the bucket does not exist" NoSuchBucket "s3://nobucket/db/x"
s3 get db/none "$T/x" 2>"$T/err" && fail "a missing key was found"
expect_error "missing key" "no such object" NoSuchKey "s3://bkt/db/none"
port=$(free_port)
start=$SECONDS
"$S3CTL" -e "http://127.0.0.1:$port" -b bkt -P -t 8000 head db/x 2>"$T/err" &&
	fail "an unreachable endpoint answered"
expect_error "unreachable endpoint" "cannot connect to the endpoint" ConnectFailed \
	"http://127.0.0.1:$port" "after 5 attempts"
assert_eq "$(grep -c 'retrying S3 request' "$T/err")" 4 "retries logged"
[ $((SECONDS - start)) -le 10 ] || fail "retries took $((SECONDS - start)) s"

log "ok"
