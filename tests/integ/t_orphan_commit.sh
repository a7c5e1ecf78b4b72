#!/bin/bash
# An application killed in the middle of a commit: its commit frame is in
# the -wal (valid checksums) but it died before publishing the transaction
# in the wal-index (-shm), so other connections never see it and the next
# writer overwrites those frames. Made here without timing luck: a copy of
# the WAL's last commit frame is appended with valid checksums and the
# wal-index left alone, exactly the bytes such a crash leaves. Rows are then
# written by other connections, the WAL is checkpointed by walship's own
# thresholds and written on: the replica must restore to exactly the
# database's content with a clean integrity check (a new generation is fine).
. "$(dirname "$0")/lib.sh"

DB="$T/data/app.db"
mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    monitor-interval: 100ms
    min-checkpoint-page-count: 20
    replicas:
      - name: r1
        type: file
        path: $T/replica
        sync-interval: 200ms
YML

# rows FROM TO: one transaction a row, each by a new connection.
rows() {
	local i
	for i in $(seq "$1" "$2"); do
		sqlite3 -cmd '.timeout 5000' "$DB" "INSERT INTO t(id, v) VALUES ($i, printf('%0200d', $i))"
	done
}
# orphan_commit: appends a copy of the last commit frame of the WAL's valid
# chain (same page, same content) with valid checksums; prints its offset.
orphan_commit() {
	python3 - "$DB-wal" <<'PY'
import struct, sys
wal = sys.argv[1]
data = open(wal, "rb").read()
magic, _, psz, _, s1, s2, c1, c2 = struct.unpack(">8I", data[:32])
fmt = (">" if magic & 1 else "<") + "%dI"
fsz = 24 + psz

def cksum(buf, a, b):
    w = struct.unpack(fmt % (len(buf) // 4), buf)
    for i in range(0, len(w), 2):
        a = (a + w[i] + b) & 0xFFFFFFFF
        b = (b + w[i + 1] + a) & 0xFFFFFFFF
    return a, b

a, b, off, last = c1, c2, 32, None
while off + fsz <= len(data):
    pg, commit, f1, f2, k1, k2 = struct.unpack(">6I", data[off:off + 24])
    if (f1, f2) != (s1, s2):
        break
    n = cksum(data[off:off + 8] + data[off + 24:off + fsz], a, b)
    if n != (k1, k2):
        break
    a, b = n
    if commit:
        last = (off, a, b)
    off += fsz
if last is None:
    sys.exit("no commit frame in the WAL")
src = data[last[0]:last[0] + fsz]
k = cksum(src[:8] + src[24:], last[1], last[2])
with open(wal, "r+b") as f:
    f.seek(last[0] + fsz)
    f.write(src[:8] + struct.pack(">4I", s1, s2, k[0], k[1]) + src[24:])
print(last[0] + fsz)
PY
}

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
wait_for 20 bash -c "ls $T/replica/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
	fail "no snapshot uploaded: $(tail -5 "$T/walship.log")"
rows 1 10
wait_for 20 restore_matches "$T/replica" "$DB" || fail "the replica did not catch up"
off=$(orphan_commit) || fail "cannot write the orphan frame"
log "orphan commit frame at WAL offset $off; readers still see $(table_sum "$DB")"
# Let walship see it (the watch on the WAL, or the next tick).
sleep 1
rows 11 20
log "10 more rows overwrite it: the database holds $(table_sum "$DB")"
FIRST=
if ! wait_for 15 restore_matches "$T/replica" "$DB" 2>/dev/null; then
	FIRST="after the overwritten orphan commit the replica restores to $(table_sum "$T/.probe.db" 2>/dev/null || echo "an unreadable database") (integrity: $(integrity "$T/.probe.db" 2>&1 | head -2 | tr '\n' ' ')), the database holds $(table_sum "$DB"); WAL $(stat -c %s "$DB-wal") bytes, shadow: $(cd "$T/data/.app.db-litestream/generations"/*/wal && ls -l | tail -n +2 | awk '{print $NF ":" $5}' | tr '\n' ' '); generations: $(ls "$T/replica/generations" | tr '\n' ' ')"
	echo "FAIL: $FIRST" >&2
fi
rows 21 80
log "60 more rows, through walship's checkpoints: the database holds $(table_sum "$DB")"
wait_for 15 restore_matches "$T/replica" "$DB" 2>/dev/null ||
	fail "${FIRST:+$FIRST; then }the replica restores to $(table_sum "$T/.probe.db" 2>/dev/null || echo "an unreadable database") (integrity: $(integrity "$T/.probe.db" 2>&1 | head -2 | tr '\n' ' ')), the database holds $(table_sum "$DB")"
rm -f "$T/final.db"
"$WALSHIP" restore -o "$T/final.db" "file://$T/replica" >/dev/null 2>&1 || fail "final restore failed"
assert_eq "$(integrity "$T/final.db")" ok "integrity"
assert_eq "$(table_sum "$T/final.db")" "$(table_sum "$DB")" "final restore"
[ -z "$FIRST" ] || fail "$FIRST"
echo "orphan commit ok"
