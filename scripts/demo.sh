#!/bin/bash
# make demo: walship's main job on an embedded default. Creates a demo
# database under demo/, runs a small writer against it while walship
# replicates it to a local directory replica, stops walship, restores the
# replica and shows that the restored copy matches the original.
set -euo pipefail
cd "$(dirname "$0")/.."
WALSHIP=${WALSHIP:-$PWD/bin/walship}
D=$PWD/demo
rm -rf "$D"
mkdir -p "$D"

cat >"$D/walship.yml" <<YML
# The embedded default: one database, one directory replica. Started as
# root, walship runs its processes as user: (default walship); the demo's
# files are the invoking user's, so it keeps that user.
user: root
dbs:
  - path: $D/app.db
    monitor-interval: 200ms
    replicas:
      - type: file
        path: $D/replica
        sync-interval: 1s
YML

echo "== creating $D/app.db"
sqlite3 "$D/app.db" "PRAGMA journal_mode=wal;
CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT, qty INTEGER, at TEXT);" >/dev/null

echo "== starting: walship replicate -config $D/walship.yml"
"$WALSHIP" replicate -config "$D/walship.yml" >"$D/walship.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT

echo "== writing 500 orders over about 5 seconds"
for i in $(seq 1 500); do
	sqlite3 "$D/app.db" "INSERT INTO orders(item, qty, at)
		VALUES ('item-$((i % 17))', $((i % 5 + 1)), datetime('now'));"
	[ $((i % 100)) -eq 0 ] && sleep 1
done
sleep 2

echo "== stopping walship (SIGTERM: it uploads what it holds first)"
kill -TERM $PID
wait $PID || true
trap - EXIT

echo "== replica contents"
"$WALSHIP" generations "file://$D/replica"
"$WALSHIP" wal "file://$D/replica" | head -5

echo "== restoring to $D/restored.db"
"$WALSHIP" restore -o "$D/restored.db" "file://$D/replica" 2>/dev/null

q="SELECT count(*), sum(qty), max(id) FROM orders"
orig=$(sqlite3 "$D/app.db" "$q")
rest=$(sqlite3 "$D/restored.db" "$q")
echo "original: $orig"
echo "restored: $rest  (integrity: $(sqlite3 "$D/restored.db" 'PRAGMA integrity_check'))"
if [ "$orig" = "$rest" ]; then
	echo "== the restored copy matches"
else
	echo "== MISMATCH"
	exit 1
fi
