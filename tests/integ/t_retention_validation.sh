#!/bin/bash
# validation-interval: the compactor restores the replica at the position
# of the walreader's newest local snapshot and compares it page by page
# with that snapshot. Under a paced writer every validation passes, at
# positions that move on. Then, with walship stopped, one page of the
# replica's snapshot object is changed (a valid LZ4 frame of a different
# image, a page no WAL frame of the restore rewrites): after a restart the
# compactor logs the mismatch naming the page and counts it; and with a
# WAL segment the restore needs made unreadable, it logs that the replica
# does not restore.
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
R="$T/replica"
mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
config() {
	cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    min-checkpoint-page-count: 30
    replicas:
      - type: file
        path: $R
        sync-interval: 200ms
        snapshot-interval: $1
        validation-interval: 1s
YML
}
start() {
	spawn "walship$1" "$WALSHIP" replicate -config "$T/w.yml"
	WS_PID=$SPAWN_PID
	WLOG="$T/walship$1.log"
}
stop() {
	kill -TERM "$WS_PID"
	wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
}

config 2s
start 1
paced_writer "$DB" 8 "$T/points"
wait_for 20 restore_matches "$R" "$DB" || fail "replica did not catch up"
wait_for 20 bash -c "[ \$(grep 'msg=\"validation ok\"' $WLOG | sed 's/.* index=//' | sort -u | wc -l) -ge 3 ]" ||
	fail "want validations at three positions: $(grep -E 'validation' "$WLOG" | tail -5)"
grep 'msg="validation ok"' "$WLOG" | grep -q 'offset=[1-9]' ||
	fail "no validation inside an index: $(grep 'msg="validation ok"' "$WLOG" | tail -3)"
# Writes have stopped: once the newest local snapshot is validated, the
# position stays put.
META="$T/data/.app.db-litestream"
GEN=$(cat "$META/generation")
newest_validated() {
	SNAP=$(ls "$META/generations/$GEN/snapshots" | sort | tail -1)
	IDX=${SNAP:0:8}
	OFF=$((16#$(echo "$SNAP" | cut -c10-25)))
	grep -q "msg=\"validation ok\".* index=$((16#$IDX)) offset=$OFF " "$WLOG"
}
# Snapshots follow the writes every snapshot-interval: stable when the
# newest one is validated and still the newest a snapshot-interval later.
stable_validated() {
	newest_validated || return 1
	local was=$SNAP
	sleep 2.5
	newest_validated && [ "$SNAP" == "$was" ]
}
wait_for 30 stable_validated || fail "the newest snapshot $SNAP was not validated"
grep -q 'validation failed' "$WLOG" && fail "a validation failed on a sound replica: $(grep 'validation failed' "$WLOG")"
log "validated at $(grep -c 'msg="validation ok"' "$WLOG") points, e.g. $(grep 'msg="validation ok"' "$WLOG" | tail -1 | sed 's/.*msg=/msg=/')"
stop
newest_validated || fail "the newest snapshot moved at the stop"
OBJ="$R/generations/$GEN/snapshots/$IDX.snapshot.lz4"
[ -f "$OBJ" ] || fail "the replica has no snapshot at index $IDX"
log "local snapshot at $GEN/$IDX:$OFF"
cp "$OBJ" "$T/snapshot.good"
# A page of the image that no WAL frame of index IDX below OFF rewrites.
PAGE=$(python3 - "$R/generations/$GEN/wal" "$IDX" "$OFF" "$OBJ" <<'PY'
import glob, os, struct, subprocess, sys
wal, idx, off, obj = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = b"".join(subprocess.run(["lz4", "-dc", f], capture_output=True, check=True).stdout
                for f in sorted(glob.glob(os.path.join(wal, idx + "_*.wal.lz4"))))
img = subprocess.run(["lz4", "-dc", obj], capture_output=True, check=True).stdout
psz = struct.unpack(">H", img[16:18])[0]
touched, pos = set(), 32
while pos + 24 + psz <= min(off, len(data)):
    touched.add(struct.unpack(">I", data[pos:pos + 4])[0])
    pos += 24 + psz
free = [p for p in range(2, len(img) // psz + 1) if p not in touched]
print(free[-1] if free else "")
PY
)
[ -n "$PAGE" ] || fail "every page of the image is rewritten by the WAL"
python3 - "$OBJ" "$PAGE" <<'PY'
import struct, subprocess, sys
obj, page = sys.argv[1], int(sys.argv[2])
img = bytearray(subprocess.run(["lz4", "-dc", obj], capture_output=True, check=True).stdout)
psz = struct.unpack(">H", img[16:18])[0]
at = (page - 1) * psz + psz // 2
img[at] ^= 0xff
out = subprocess.run(["lz4", "-c"], input=bytes(img), capture_output=True, check=True).stdout
open(obj + ".new", "wb").write(out)
PY
mv "$OBJ.new" "$OBJ"
log "changed page $PAGE of $OBJ"

config 0s
start 2
wait_for 20 grep -q 'msg="validation failed: replica differs from the database"' "$WLOG" ||
	fail "no mismatch reported: $(grep -E 'validation|compactor' "$WLOG" | tail -5)"
LINE=$(grep 'msg="validation failed: replica differs from the database"' "$WLOG" | head -1)
echo "$LINE" | grep -q "level=ERROR" || fail "the mismatch is not an error: $LINE"
echo "$LINE" | grep -q "first_page=$PAGE " || fail "wrong page named: $LINE"
echo "$LINE" | grep -q "generation=$GEN index=$((16#$IDX)) offset=$OFF " || fail "wrong position named: $LINE"
echo "$LINE" | grep -q "validation_errors=1" || fail "not counted: $LINE"
stop
grep 'msg="compactor stopped"' "$WLOG" | grep -qE 'validation_errors=[1-9]' ||
	fail "the count is not in the compactor's figures: $(grep 'compactor stopped' "$WLOG")"

log "a WAL segment the restore needs made unreadable"
cp "$T/snapshot.good" "$OBJ"
SEG=$(ls "$R/generations/$GEN/wal" | awk -v i="$IDX" 'substr($0, 1, 8) == i' | head -1)
if [ -n "$SEG" ] && [ "$OFF" -gt 0 ]; then
	printf 'garbage' >"$R/generations/$GEN/wal/$SEG"
	start 3
	wait_for 20 grep -q 'msg="validation failed: replica does not restore"' "$WLOG" ||
		fail "no failure reported: $(grep -E 'validation' "$WLOG" | tail -5)"
	grep 'msg="validation failed: replica does not restore"' "$WLOG" | head -1 | grep -q "$SEG" ||
		fail "the failure does not name the object: $(grep 'validation failed' "$WLOG" | head -1)"
	stop
else
	log "(the newest snapshot starts its index: no segment below it to break)"
fi
echo "validation ok"
