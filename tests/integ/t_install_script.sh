#!/bin/bash
# systemd/install.sh --root DIR (no systemd here): run twice into a
# temporary root. It installs the binary, man pages, unit and examples;
# creates a system user with no login shell and no home; installs the config
# as /etc/walship.yml, mode 600, owned by that user; writes a drop-in that
# lets the service write the database and file replica directories; puts
# the existing database in WAL mode and skips the missing one. The second
# run changes nothing and creates no second user. A config with errors is
# refused and leaves /etc/walship.yml as it was. The script passes bash -n
# and shellcheck.
. "$(dirname "$0")/lib.sh"

SCRIPT="$ROOT/systemd/install.sh"
bash -n "$SCRIPT" || fail "bash -n"
if command -v shellcheck >/dev/null; then
	shellcheck "$SCRIPT" || fail "shellcheck"
fi
[ "$(id -u)" -eq 0 ] || { log "not root: install.sh needs root, skipping the run"; exit 0; }

R="$T/root"
mkdir -p "$R/etc" "$R/data"
for f in passwd group shadow gshadow; do
	[ -f "/etc/$f" ] && cp -p "/etc/$f" "$R/etc/$f"
done
sed -i '/^walship:/d' "$R/etc/passwd" "$R/etc/group" "$R/etc/shadow" "$R/etc/gshadow" 2>/dev/null || true
sqlite3 "$R/data/app.db" 'CREATE TABLE t(x); INSERT INTO t VALUES (1);'
assert_eq "$(sqlite3 "$R/data/app.db" 'PRAGMA journal_mode')" delete "journal mode before"
cat >"$T/w.yml" <<YML
dbs:
  - path: /data/app.db
    replicas:
      - type: file
        path: /backup/app
      - url: s3://bucket/app
  - path: /data/later.db
    replicas:
      - url: file:///backup/later
YML

run() {
	"$SCRIPT" --root "$R" --config "$T/w.yml" >"$T/run$1.out" 2>&1 ||
		fail "install.sh run $1: $(cat "$T/run$1.out")"
}
# snapshot: what the install left, with modes and owners.
snapshot() {
	(cd "$R" && find . -path ./data -prune -o -printf '%p %m %U:%G %s\n' | sort)
	md5sum "$R/etc/walship.yml" "$R/etc/systemd/system/walship.service.d/install-paths.conf"
}

run 1
for f in usr/local/bin/walship usr/local/share/man/man1/walship.1 \
	usr/local/share/man/man5/walship.yml.5 usr/local/lib/systemd/system/walship.service \
	usr/local/share/doc/walship/examples/production.yml; do
	[ -f "$R/$f" ] || fail "not installed: /$f"
done
entry=$(grep '^walship:' "$R/etc/passwd") || fail "no walship user"
IFS=: read -r _ _ uid gid _ home shell <<<"$entry"
[ "$uid" -lt 1000 ] || fail "not a system user: uid $uid"
assert_eq "$shell" /usr/sbin/nologin "login shell"
[ ! -e "$R$home" ] || fail "a home directory was created: $home"
grep -q '^walship:[!*]' "$R/etc/shadow" || fail "the user has a password"
assert_eq "$(stat -c '%a %u:%g' "$R/etc/walship.yml")" "600 $uid:$gid" "/etc/walship.yml mode and owner"
cmp -s "$T/w.yml" "$R/etc/walship.yml" || fail "/etc/walship.yml differs from the given config"
DROPIN="$R/etc/systemd/system/walship.service.d/install-paths.conf"
for p in /data /backup/app /backup/later; do
	grep -qx "ReadWritePaths=-$p" "$DROPIN" || fail "drop-in lacks $p: $(cat "$DROPIN")"
done
assert_eq "$(grep -c '^ReadWritePaths=' "$DROPIN")" 3 "ReadWritePaths lines"
assert_eq "$(sqlite3 "$R/data/app.db" 'PRAGMA journal_mode')" wal "journal mode after"
grep -q "/data/later.db does not exist yet" "$T/run1.out" || fail "the missing database is not mentioned"
[ ! -e "$R/data/later.db" ] || fail "a missing database was created"
snapshot >"$T/snap1"

log "second run"
run 2
snapshot >"$T/snap2"
diff -u "$T/snap1" "$T/snap2" || fail "the second run changed the installation"
assert_eq "$(grep -c '^walship:' "$R/etc/passwd")" 1 "walship users after two runs"
grep -q "service user walship exists" "$T/run2.out" || fail "the second run did not keep the user"

log "a broken config is refused"
printf 'dbs:\n  - path: /data/app.db\n    bukcet: x\n' >"$T/bad.yml"
if "$SCRIPT" --root "$R" --config "$T/bad.yml" >"$T/bad.out" 2>&1; then
	fail "install.sh accepted a broken config"
fi
grep -q 'bad.yml:3:5: .*unknown key "bukcet"' "$T/bad.out" || fail "the error is not shown: $(cat "$T/bad.out")"
cmp -s "$T/w.yml" "$R/etc/walship.yml" || fail "a refused config replaced /etc/walship.yml"
