#!/bin/bash
# SIGHUP reloads the config. Two databases A (replicas r1, r2) and B (r1).
#  1. A broken config: its errors are logged as FILE:LINE:COL, nothing
#     restarts (same pids), replication goes on under the old config.
#  2. B removed, A loses r2 and gains r3, C added: B's children stop the
#     graceful way (rows written just before, with a 10 s sync-interval,
#     still reach B's replica), r2's uploader stops, A's walreader restarts
#     (its replica set changed) while A's r1 uploader keeps its pid, r3 and
#     C start and replicate; A's r1 keeps replicating through the new
#     walreader.
#  3. A's r1 gets another sync-interval: only that uploader restarts.
#  4. A gcs replica (an uploader config error, exit 78) is reported failed
#     once and not retried in a loop; a reload that drops it removes it.
. "$(dirname "$0")/lib.sh"

A="$T/data/a.db" B="$T/data/b.db" C="$T/data/c.db"
mkdir -p "$T/data" "$T/run"
export RUNTIME_DIRECTORY="$T/run"
for db in "$A" "$B" "$C"; do
	sqlite3 "$db" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
done

# replica NAME DIR [SYNC]: one file replica entry.
replica() {
	printf '      - name: %s\n        type: file\n        path: %s\n        sync-interval: %s\n' \
		"$1" "$2" "${3:-200ms}"
}
db() {
	printf '  - path: %s\n    monitor-interval: 100ms\n    replicas:\n' "$1"
}
{
	echo "user: root"
	echo "dbs:"
	db "$A"; replica r1 "$T/a-r1"; replica r2 "$T/a-r2"
	db "$B"; replica r1 "$T/b-r1" 10s
} >"$T/w.yml"

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS=$SPAWN_PID
WS_LOG="$T/walship.log"
for r in a-r1 a-r2 b-r1; do
	wait_for 20 bash -c "ls $T/$r/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
		fail "no snapshot in $r: $(tail -5 "$WS_LOG")"
done
pid_of() { child_pid "$WS" "$1"; }
WR_A=$(pid_of "walship: walreader $A")
UP_A1=$(pid_of "walship: uploader $A -> r1")
UP_A2=$(pid_of "walship: uploader $A -> r2")
WR_B=$(pid_of "walship: walreader $B")
UP_B1=$(pid_of "walship: uploader $B -> r1")
for p in "$WR_A" "$UP_A1" "$UP_A2" "$WR_B" "$UP_B1"; do
	[ -n "$p" ] || fail "a child is missing: $(ps -o pid=,args= --ppid "$WS")"
done

log "1. a broken config is refused, nothing restarts"
cp "$T/w.yml" "$T/good.yml"
cat >>"$T/w.yml" <<YML
      - name: r9
        type: s3
        bukcet: x
YML
kill -HUP "$WS"
wait_for 10 grep -q 'msg="config has errors, not reloading' "$WS_LOG" ||
	fail "broken config: no refusal logged: $(tail -5 "$WS_LOG")"
grep -q "detail=\"$T/w.yml:[0-9]*:[0-9]*: .*unknown key \\\\\"bukcet\\\\\"" "$WS_LOG" ||
	fail "broken config: the error is not logged as FILE:LINE:COL: $(grep 'config error' "$WS_LOG")"
assert_eq "$(pid_of "walship: walreader $A")" "$WR_A" "walreader A after a refused reload"
assert_eq "$(pid_of "walship: uploader $A -> r2")" "$UP_A2" "uploader A->r2 after a refused reload"
assert_eq "$(pid_of "walship: uploader $B -> r1")" "$UP_B1" "uploader B->r1 after a refused reload"
writer "$A" 0.5 20 1 >/dev/null
wait_for 10 restore_matches "$T/a-r2" "$A" || fail "A->r2 stopped replicating after a refused reload"

log "2. (the compactor restarts too: the replicas changed) B removed, A: r2 out, r3 in; C added"
writer "$B" 0.5 20 1 >/dev/null   # only the graceful stop can upload these
{
	echo "user: root"
	echo "dbs:"
	db "$A"; replica r1 "$T/a-r1"; replica r3 "$T/a-r3"
	db "$C"; replica r1 "$T/c-r1"
} >"$T/w.yml"
kill -HUP "$WS"
wait_for 10 grep -q 'msg="config reloaded".*added=3 removed=3 restarted=2 unchanged=1' "$WS_LOG" ||
	fail "reload not logged as expected: $(grep -E 'reload|config' "$WS_LOG" | tail -5)"
wait_for 20 bash -c "! kill -0 $WR_B 2>/dev/null && ! kill -0 $UP_B1 2>/dev/null && ! kill -0 $UP_A2 2>/dev/null" ||
	fail "removed children still running"
grep -q "msg=\"child exited\".*child=uploader db=$B replica=r1 pid=$UP_B1 status=\"exit status 0\"" "$WS_LOG" ||
	fail "B's uploader did not stop gracefully: $(grep "pid=$UP_B1" "$WS_LOG")"
restore_matches "$T/b-r1" "$B" || fail "B's last rows did not reach its replica on removal"
assert_eq "$(pid_of "walship: uploader $A -> r1")" "$UP_A1" "uploader A->r1 (unchanged) keeps its pid"
wait_for 10 bash -c "[ -n \"\$(ps -o pid=,args= --ppid $WS | awk '\$2 == \"walship:\" && \$3 == \"walreader\" && \$4 == \"$A\" && \$1 != $WR_A')\" ]" ||
	fail "A's walreader was not restarted"
[ -z "$(pid_of "walship: walreader $B")" ] || fail "B's walreader still listed"
writer "$A" 0.5 20 1000 >/dev/null
writer "$C" 0.5 20 1 >/dev/null
wait_for 20 restore_matches "$T/a-r1" "$A" || fail "A->r1 does not replicate through the new walreader"
wait_for 20 restore_matches "$T/a-r3" "$A" || fail "the added replica A->r3 does not replicate"
wait_for 20 restore_matches "$T/c-r1" "$C" || fail "the added database C does not replicate"
UP_A3=$(pid_of "walship: uploader $A -> r3")
WR_A=$(pid_of "walship: walreader $A")
WR_C=$(pid_of "walship: walreader $C")

log "3. A->r1 changed: only its uploader restarts (and the compactor, which works from replica settings)"
sed -i "0,/sync-interval: 200ms/s//sync-interval: 300ms/" "$T/w.yml"
kill -HUP "$WS"
wait_for 10 grep -q 'msg="config reloaded".*added=0 removed=0 restarted=2 unchanged=4' "$WS_LOG" ||
	fail "reload 3 not logged as expected: $(grep 'config reloaded' "$WS_LOG" | tail -1)"
wait_for 10 bash -c "p=\$(ps -o pid=,args= --ppid $WS | awk '\$0 ~ /uploader .*a.db -> r1\$/ {print \$1}'); [ -n \"\$p\" ] && [ \"\$p\" != $UP_A1 ]" ||
	fail "A->r1 was not restarted"
assert_eq "$(pid_of "walship: walreader $A")" "$WR_A" "walreader A (unchanged)"
assert_eq "$(pid_of "walship: uploader $A -> r3")" "$UP_A3" "uploader A->r3 (unchanged)"
assert_eq "$(pid_of "walship: walreader $C")" "$WR_C" "walreader C (unchanged)"
writer "$A" 0.5 20 2000 >/dev/null
wait_for 20 restore_matches "$T/a-r1" "$A" || fail "A->r1 does not replicate after its restart"

log "4. a config error in a child: failed once, not retried in a loop"
cp "$T/w.yml" "$T/before-gcs.yml"
printf '      - name: g\n        type: gcs\n        bucket: b\n' >>"$T/w.yml"
kill -HUP "$WS"
wait_for 10 grep -q "msg=\"child failed, not restarting\".*replica=g.*reason=\"config error\"" "$WS_LOG" ||
	fail "the gcs uploader was not reported failed: $(grep 'replica=g' "$WS_LOG" | tail -3)"
sleep 3
n=$(grep -c "msg=\"starting child\".*replica=g" "$WS_LOG")
assert_eq "$n" 1 "starts of a child that failed on its config"
cp "$T/before-gcs.yml" "$T/w.yml"
kill -HUP "$WS"
wait_for 10 grep -q 'msg="config reloaded".*removed=1' "$WS_LOG" ||
	fail "the failed child was not removed: $(grep 'config reloaded' "$WS_LOG" | tail -1)"

log "stop"
kill -TERM "$WS"
wait_for 30 bash -c "! kill -0 $WS 2>/dev/null" || fail "walship did not stop"
wait "$WS" 2>/dev/null; rc=$?
assert_eq "$rc" 0 "exit status"
