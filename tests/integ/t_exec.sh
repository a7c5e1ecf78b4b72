#!/bin/bash
# replicate -exec CMD: the application runs beside replication with walship's
# environment; when it exits, replication stops the graceful way (rows it
# wrote just before, with a 10 s sync-interval, reach the replica) and walship
# exits with its status; killed by a signal, 128 + the signal; SIGTERM to
# walship goes to the application first. exec: in the config does the same;
# a command with an unquoted shell operator is refused (exit 2).
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
      - type: file
        path: $T/replica
        sync-interval: 10s
YML

# run_exec NAME CMD: walship replicate -exec CMD in the foreground; sets RC.
run_exec() {
	local name=$1
	shift
	set +e
	timeout 60 "$WALSHIP" replicate -config "$T/w.yml" -exec "$1" >"$T/$name.log" 2>&1
	RC=$?
	set -e
}

log "the application's exit status, its environment, its rows replicated"
export APP_GREETING="hello from the environment"
run_exec status "sh -c 'echo \"greeting=\$APP_GREETING\"; sqlite3 $DB \"INSERT INTO t(v) VALUES (\\\"x\\\")\"; exit 7'"
assert_eq "$RC" 7 "exit status of walship after the application's exit 7"
grep -q "greeting=hello from the environment" "$T/status.log" ||
	fail "the application did not get walship's environment: $(head "$T/status.log")"
grep -q 'msg="the -exec command exited; stopping replication"' "$T/status.log" ||
	fail "no stop logged after the application's exit"
restore_matches "$T/replica" "$DB" || fail "the application's last rows are not in the replica"

log "killed by a signal: 128 + N"
run_exec signal "sh -c 'kill -USR1 \$\$'"
assert_eq "$RC" $((128 + 10)) "exit status after the application died of SIGUSR1"

log "SIGTERM goes to the application, which decides when to stop"
spawn term "$WALSHIP" replicate -config "$T/w.yml" -exec \
	"sh -c 'trap \"echo got-term; exit 3\" TERM; while :; do sleep 0.1; done'"
WS=$SPAWN_PID
wait_for 20 grep -q 'msg="started the -exec command"' "$T/term.log" ||
	fail "the application did not start: $(tail -5 "$T/term.log")"
kill -TERM "$WS"
wait_for 30 bash -c "! kill -0 $WS 2>/dev/null" || fail "walship did not stop"
set +e; wait "$WS"; RC=$?; set -e
assert_eq "$RC" 3 "exit status after SIGTERM"
grep -q "got-term" "$T/term.log" || fail "the application did not get SIGTERM"
grep -q 'msg="forwarding the signal to the -exec command" role=supervisor signal=SIGTERM' "$T/term.log" ||
	fail "the forward is not logged"

log "exec: in the config"
sed -i "1i exec: sh -c 'exit 4'" "$T/w.yml"
set +e; timeout 60 "$WALSHIP" replicate -config "$T/w.yml" >"$T/cfg.log" 2>&1; RC=$?; set -e
assert_eq "$RC" 4 "exit status with exec: in the config"
sed -i 1d "$T/w.yml"

log "no shell: an unquoted operator is refused"
run_exec op "app; rm -rf /"
assert_eq "$RC" 2 "exit status for an unquoted ';'"
grep -q "unquoted ';'" "$T/op.log" || fail "no clear error: $(cat "$T/op.log")"
