#!/bin/bash
# systemd/walship.service: systemd-analyze verify finds nothing wrong in it,
# `systemd-analyze security --offline=true` rates it 2.0 or lower, and it
# keeps the settings the supervisor relies on (Type=notify, a watchdog,
# Restart=on-failure, a stop timeout longer than the supervisor's 15 s).
# systemd/example-app.service: its boot-time restore line, run as written
# (config and database paths moved into the test directory), does nothing
# when the database exists, exits 0 when no replica has a backup yet, and
# restores a missing database from its replica.
. "$(dirname "$0")/lib.sh"

UNIT="$ROOT/systemd/walship.service"
APP="$ROOT/systemd/example-app.service"
command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (scripts/install-deps.sh installs it)"

log "systemd-analyze verify"
# Only the binary and man pages it names are missing on a build machine.
systemd-analyze verify "$UNIT" "$APP" 2>&1 |
	grep -vE "is not executable: No such file|Command 'man .*' failed|^$" >"$T/verify.out" || true
[ ! -s "$T/verify.out" ] || fail "systemd-analyze verify: $(cat "$T/verify.out")"

log "systemd-analyze security"
systemd-analyze security --offline=true "$UNIT" >"$T/security.out" 2>&1 || true
level=$(sed -n 's/.*Overall exposure level for walship.service: \([0-9.]*\).*/\1/p' "$T/security.out")
[ -n "$level" ] || fail "no exposure level: $(tail -3 "$T/security.out")"
log "exposure level $level"
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure level $level is above 2.0: $(grep '✗' "$T/security.out")"

log "the settings the supervisor relies on"
for want in '^Type=notify$' '^NotifyAccess=main$' '^WatchdogSec=' '^Restart=on-failure$' \
	'^TimeoutStopSec=30s$' '^ExecStart=/usr/local/bin/walship replicate -config /etc/walship.yml$' \
	'^ExecReload=/bin/kill -HUP \$MAINPID$' '^User=walship$' '^ProtectSystem=strict$'; do
	grep -qE "$want" "$UNIT" || fail "walship.service lacks $want"
done

log "the auto-restore recipe of example-app.service"
line=$(sed -n 's|^ExecStartPre=+/usr/local/bin/walship \(restore .*\)$|\1|p' "$APP")
[ -n "$line" ] || fail "no walship restore in example-app.service"
DB="$T/data/app.db"
mkdir -p "$T/data"
read -r -a args <<<"$(printf '%s' "$line" | sed -e "s|/etc/walship.yml|$T/w.yml|" -e "s|/srv/myapp/data/app.db|$DB|")"
cat >"$T/w.yml" <<YML
user: root
dbs:
  - path: $DB
    replicas:
      - type: file
        path: $T/replica
YML
restore() { "$WALSHIP" "${args[@]}" >"$T/restore.out" 2>&1; }

# No database, no replica yet (first boot): nothing to do, exit 0.
restore || fail "no replica: exit $? ($(cat "$T/restore.out"))"
[ ! -e "$DB" ] || fail "no replica: a database was created"

# A database replicated, then lost: restored.
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ("a"), ("b");' >/dev/null
"$WALSHIP" replicate -config "$T/w.yml" -exec "sqlite3 $DB 'INSERT INTO t(v) VALUES (\"c\")'" >"$T/replicate.out" 2>&1 ||
	fail "replicate: $(tail -5 "$T/replicate.out")"
SUM=$(table_sum "$DB")
rm -f "$DB" "$DB-wal" "$DB-shm"
restore || fail "replica, no database: exit $? ($(cat "$T/restore.out"))"
assert_eq "$(table_sum "$DB")" "$SUM" "the restored database"
assert_eq "$(integrity "$DB")" ok "integrity of the restored database"

# The database exists: left alone, exit 0 (even with a replica).
sqlite3 "$DB" 'INSERT INTO t(v) VALUES ("local")'
before=$(table_sum "$DB")
restore || fail "database exists: exit $? ($(cat "$T/restore.out"))"
assert_eq "$(table_sum "$DB")" "$before" "the existing database after the boot restore"
