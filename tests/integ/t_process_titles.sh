#!/bin/bash
# The children of `walship replicate` show what they serve: ps -o args
# gives "walship: walreader DB", "walship: uploader DB -> NAME" (an
# unnamed replica is named after its type, as in Litestream) and
# "walship: compactor" (one for every replica), and the
# kernel's name for each (comm) is its role. When the supervisor is killed
# with SIGKILL, every child exits within a few seconds (parent death signal),
# having shut down cleanly (the replica then holds every row).
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
    replicas:
      - name: backup
        type: file
        path: $T/r1
        sync-interval: 200ms
      - type: file
        path: $T/r2
        sync-interval: 200ms
YML

spawn walship "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
WANT="walship: compactor
walship: uploader $DB -> backup
walship: uploader $DB -> file
walship: walreader $DB"
titles() {
	ps -o args= --ppid "$WS_PID" | sort
}
wait_for 20 bash -c "[ \"\$(ps -o args= --ppid $WS_PID | sort)\" == \"$WANT\" ]" ||
	fail "children's titles: got
$(titles)
want
$WANT"
log "titles: $(titles | tr '\n' ';')"
for p in $(ps -o pid= --ppid "$WS_PID"); do
	args=$(ps -o args= -p "$p")
	comm=$(cat "/proc/$p/comm")
	case "$args" in
	"walship: walreader "*) assert_eq "$comm" walreader "comm of $p" ;;
	"walship: uploader "*) assert_eq "$comm" uploader "comm of $p" ;;
	"walship: compactor") assert_eq "$comm" compactor "comm of $p" ;;
	*) fail "unexpected child $p: $args" ;;
	esac
done

writer "$DB" 1 150 >/dev/null
CHILDREN=$(ps -o pid= --ppid "$WS_PID" | tr '\n' ' ')
log "killing the supervisor $WS_PID (children: $CHILDREN)"
kill -KILL "$WS_PID"
{ wait "$WS_PID"; } 2>/dev/null || true
children_gone() {
	local p
	for p in $CHILDREN; do
		! kill -0 "$p" 2>/dev/null || return 1
	done
}
t0=$SECONDS
wait_for 5 children_gone || fail "children still running 5 s after the supervisor died: $(ps -o pid=,stat=,args= -p "${CHILDREN// /,}" 2>/dev/null)"
log "children gone within $((SECONDS - t0)) s"
[ -z "$(walship_pids)" ] || fail "walship processes left: $(walship_pids | tr '\n' ' ')"
grep -q 'msg="walreader shutting down"' "$T/walship.log" || fail "the walreader did not shut down cleanly"
[ "$(grep -c 'msg="uploader stopped"' "$T/walship.log")" -ge 2 ] || fail "the uploaders did not shut down cleanly"
for r in r1 r2; do
	restore_matches "$T/$r" "$DB" || fail "$r does not hold every row after the children's shutdown"
done
echo "process titles ok"
