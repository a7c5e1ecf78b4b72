#!/bin/bash
# install.sh: sets walship up on a production server, as root.
#
#   systemd/install.sh --config my-walship.yml
#
#  1. builds and installs the binary, man pages, unit and examples
#     (make install; PREFIX=/usr/local);
#  2. creates the service user (a system user: no login shell, no home);
#  3. installs the config as /etc/walship.yml, mode 600, owned by the
#     service user: walship runs as that user and must read it (its
#     children read it again when they start); nobody else may, since it
#     can hold credentials; and walship cannot change it, because the unit
#     makes /etc read-only for it (ProtectSystem=strict);
#  4. writes a drop-in (walship.service.d/install-paths.conf) that lets the
#     service write to the directories of the configured databases and
#     file replicas, which the unit's sandbox otherwise keeps read-only;
#  5. puts every configured database that exists in WAL mode (sqlite3);
#  6. systemctl daemon-reload, enable, restart, and waits until every
#     existing database has a generation on its replica.
#
# Running it again is harmless: files are replaced by the same files, the
# user is kept, the restart is walship's graceful stop (what it holds is
# uploaded first). Without --config, the installed /etc/walship.yml stays.
#
# Options:
#   --config FILE     the config to install (validated first)
#   --user NAME       the service user (default walship; must match the
#                     unit's User=)
#   --root DIR        install into DIR instead of / (for tests and images):
#                     implies --no-systemctl
#   --no-systemctl    do not touch systemd (no reload, start or check)
#   --timeout SECS    how long to wait for replication to show (default 60)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
CONFIG="" SVC_USER=walship ROOT="" SYSTEMCTL=1 TIMEOUT=60
PREFIX=/usr/local

die() {
	echo "install.sh: $*" >&2
	exit 1
}
say() {
	echo "install.sh: $*"
}

while [ $# -gt 0 ]; do
	case $1 in
	--config) CONFIG=${2:?--config needs a file}; shift 2 ;;
	--user) SVC_USER=${2:?--user needs a name}; shift 2 ;;
	--root) ROOT=${2:?--root needs a directory}; SYSTEMCTL=0; shift 2 ;;
	--no-systemctl) SYSTEMCTL=0; shift ;;
	--timeout) TIMEOUT=${2:?--timeout needs seconds}; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option: $1 (see --help)" ;;
	esac
done
[ "$(id -u)" -eq 0 ] || die "run as root"
if [ -n "$ROOT" ]; then
	mkdir -p "$ROOT"
	ROOT=$(cd "$ROOT" && pwd)
fi
ETC_CONFIG="$ROOT/etc/walship.yml"
BIN="$ROOT$PREFIX/bin/walship"
DROPIN_DIR="$ROOT/etc/systemd/system/walship.service.d"

# 1. Files.
say "installing the binary, man pages and unit under $ROOT$PREFIX"
make -s -C "$SRC" install DESTDIR="$ROOT" PREFIX="$PREFIX" >/dev/null

# 2. The service user.
user_field() { # FIELD: from ROOT's passwd
	awk -F: -v u="$SVC_USER" -v f="$1" '$1 == u { print $f }' "$ROOT/etc/passwd"
}
if [ -n "$(user_field 1)" ]; then
	say "service user $SVC_USER exists"
else
	say "creating the system user $SVC_USER"
	prefix=()
	[ -z "$ROOT" ] || prefix=(--prefix "$ROOT")
	useradd "${prefix[@]}" --system --user-group --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin \
		--comment "walship SQLite replication" "$SVC_USER"
fi
SVC_UID=$(user_field 3)
SVC_GID=$(user_field 4)
if [ -z "$SVC_UID" ] || [ -z "$SVC_GID" ]; then
	die "user $SVC_USER not found in $ROOT/etc/passwd"
fi

# 3. The config.
if [ -n "$CONFIG" ]; then
	[ -f "$CONFIG" ] || die "no such config: $CONFIG"
	"$BIN" replicate -n -config "$CONFIG" >/dev/null ||
		die "$CONFIG has errors (above); nothing changed in /etc"
	install -D -m 600 -o "$SVC_UID" -g "$SVC_GID" "$CONFIG" "$ETC_CONFIG.new"
	mv -f "$ETC_CONFIG.new" "$ETC_CONFIG"
	say "installed $CONFIG as /etc/walship.yml (mode 600, owner $SVC_USER)"
elif [ -f "$ETC_CONFIG" ]; then
	chown "$SVC_UID:$SVC_GID" "$ETC_CONFIG"
	chmod 600 "$ETC_CONFIG"
	say "keeping /etc/walship.yml"
else
	die "no /etc/walship.yml yet: give one with --config (examples in $SRC/config/examples)"
fi

# The effective config tells the databases and the file replica directories.
EFFECTIVE=$(mktemp)
trap 'rm -f "$EFFECTIVE"' EXIT
"$BIN" replicate -n -config "$ETC_CONFIG" >"$EFFECTIVE" ||
	die "/etc/walship.yml has errors (above)"
mapfile -t DBS < <(awk '/^  - path: / { print $3 }' "$EFFECTIVE")
mapfile -t FILE_REPLICAS < <(awk '
	/^      - / { t = "" }
	/^        type: / { t = $2 }
	/^        path: / && t == "file" { print $2 }' "$EFFECTIVE")

# 4. What the sandbox must let walship write.
paths=()
for db in "${DBS[@]}"; do paths+=("$(dirname "$db")"); done
paths+=("${FILE_REPLICAS[@]}")
mkdir -p "$DROPIN_DIR"
{
	echo "# Written by systemd/install.sh from /etc/walship.yml: the directories"
	echo "# of its databases and file replicas. Run install.sh again after"
	echo "# adding one; the \"-\" ignores a directory that does not exist yet."
	echo "[Service]"
	for p in $(printf '%s\n' "${paths[@]}" | sort -u); do
		echo "ReadWritePaths=-$p"
	done
} >"$DROPIN_DIR/install-paths.conf.new"
chmod 644 "$DROPIN_DIR/install-paths.conf.new"
mv -f "$DROPIN_DIR/install-paths.conf.new" "$DROPIN_DIR/install-paths.conf"
say "wrote $DROPIN_DIR/install-paths.conf (${#paths[@]} paths)"

# 5. WAL mode, for the databases that exist.
for db in "${DBS[@]}"; do
	if [ ! -f "$ROOT$db" ]; then
		say "$db does not exist yet (walship waits for it); the application must open it in WAL mode"
		continue
	fi
	mode=$(sqlite3 "$ROOT$db" 'PRAGMA journal_mode=wal;')
	[ "$mode" = wal ] || die "$db: cannot switch to WAL mode (journal_mode=$mode)"
	say "$db is in WAL mode"
done

[ "$SYSTEMCTL" -eq 1 ] || { say "done (systemctl skipped)"; exit 0; }

# 6. Start, and see it replicate.
systemctl daemon-reload
systemctl enable walship.service
systemctl restart walship.service
say "walship started; waiting for every database to have a generation"
end=$((SECONDS + TIMEOUT))
for db in "${DBS[@]}"; do
	[ -f "$db" ] || continue
	until "$BIN" generations -config "$ETC_CONFIG" "$db" 2>/dev/null | awk 'NR > 1 { found = 1 } END { exit !found }'; do
		systemctl is-active --quiet walship.service ||
			die "walship.service is not running: journalctl -u walship"
		[ "$SECONDS" -lt "$end" ] ||
			die "$db: no generation on its replicas after ${TIMEOUT}s: journalctl -u walship"
		sleep 1
	done
	say "$db is replicating"
done
say "done: systemctl status walship; journalctl -u walship"
