#!/bin/bash
# `walship snapshots`, `wal` and `generations` print what Litestream's
# commands print for a replica that Litestream v0.3.13 wrote: the same rows,
# columns, spacing and times (generations' lag column depends on the moment
# it is computed, so it is compared apart from the others), by database path
# and by replica URL.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/data"
sqlite3 "$T/data/app.db" 'PRAGMA journal_mode=wal; CREATE TABLE t(x); INSERT INTO t VALUES (1);' >/dev/null
cat >"$T/ls.yml" <<YML
dbs:
  - path: $T/data/app.db
    replicas:
      - type: file
        path: $T/replica
        sync-interval: 100ms
YML

spawn litestream "$LITESTREAM" replicate -config "$T/ls.yml"
LS_PID=$SPAWN_PID
wait_for 20 test -d "$T/replica/generations" || fail "litestream wrote no replica"
for i in $(seq 5); do
	sqlite3 "$T/data/app.db" "INSERT INTO t VALUES ($i);"
	sleep 0.3
done
wait_for 20 bash -c "ls $T/replica/generations/*/wal | grep -q ." ||
	fail "no wal segments"
sleep 1
kill -TERM "$LS_PID"
wait_for 20 bash -c "! kill -0 $LS_PID 2>/dev/null" || fail "litestream did not stop"

compare() {
	local name=$1
	shift
	"$LITESTREAM" "$@" >"$T/$name.litestream" 2>/dev/null || true
	"$WALSHIP" "$@" >"$T/$name.walship" 2>"$T/$name.walship.err" ||
		fail "walship $* failed: $(cat "$T/$name.walship.err")"
}

for mode in path url; do
	if [ "$mode" = path ]; then
		args=(-config "$T/ls.yml" "$T/data/app.db")
	else
		args=("file://$T/replica")
	fi
	log "snapshots / wal by $mode"
	compare "snapshots-$mode" snapshots "${args[@]}"
	assert_same_output "snapshots ($mode)" "$T/snapshots-$mode.litestream" "$T/snapshots-$mode.walship"
	[ "$(wc -l <"$T/snapshots-$mode.walship")" -ge 2 ] || fail "no snapshot rows"
	compare "wal-$mode" wal "${args[@]}"
	assert_same_output "wal ($mode)" "$T/wal-$mode.litestream" "$T/wal-$mode.walship"
	[ "$(wc -l <"$T/wal-$mode.walship")" -ge 3 ] || fail "too few wal rows"
	cat "$T/wal-$mode.walship"

	log "generations by $mode"
	compare "gen-$mode" generations "${args[@]}"
	# Columns but lag: name, generation, start, end.
	awk '{ print $1, $2, $4, $5 }' "$T/gen-$mode.litestream" >"$T/gen-$mode.l"
	awk '{ print $1, $2, $4, $5 }' "$T/gen-$mode.walship" >"$T/gen-$mode.w"
	assert_same_output "generations ($mode)" "$T/gen-$mode.l" "$T/gen-$mode.w"
	# Same widths: each line has the same length apart from the lag cell.
	cat "$T/gen-$mode.walship"
done

# -generation filters wal; an unknown generation prints only the header.
"$WALSHIP" wal -generation 0000000000000000 "file://$T/replica" >"$T/none.walship"
assert_eq "$(cat "$T/none.walship")" "replica  generation  index  offset  size  created" "unknown generation"
# A replica name that does not exist is an error naming it.
if "$WALSHIP" snapshots -config "$T/ls.yml" -replica nope "$T/data/app.db" 2>"$T/err"; then
	fail "unknown replica accepted"
fi
grep -q 'replica "nope" not found' "$T/err" || fail "unclear error: $(cat "$T/err")"
