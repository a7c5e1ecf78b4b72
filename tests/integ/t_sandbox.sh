#!/bin/bash
# Privilege separation, design.md's table row by row. Started as root with
# user: naming an unprivileged account, every child (walreader, file
# uploader, S3 uploader) runs as that account, with no_new_privs and a
# seccomp filter (/proc/PID/status); the S3 keys, handed over in AWS_*
# variables, appear in no child's /proc/PID/environ (the walreader and the
# file uploader never get them, the S3 uploader wipes them once read); the
# runtime directory is that user's, mode 0700. Both replicas replicate
# while confined and stop cleanly. The sandbox self-test of each role
# finds every forbidden attempt denied (files outside its area, the
# config, inet sockets where the role has no network, exec, uid 0). An
# unknown user: makes replicate refuse to start, saying how to fix it.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] ||
	fail "this scenario must run as root: it checks the switch from root to the service user"
U=walship-test
id -u "$U" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin "$U" ||
	fail "cannot create the test user $U"
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")

start_s3rver bkt
DB="$T/data/app.db"
chmod 755 "$T"
mkdir -p "$T/data" "$T/replica" "$T/run"
sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
chown -R "$U:" "$T/data" "$T/replica"
cat >"$T/w.yml" <<YML
user: $U
dbs:
  - path: $DB
    monitor-interval: 100ms
    replicas:
      - name: f
        type: file
        path: $T/replica
        sync-interval: 200ms
      - name: s
        type: s3
        bucket: bkt
        path: app
        endpoint: $S3_ENDPOINT
        region: us-east-1
        force-path-style: true
        sync-interval: 200ms
YML
chmod 600 "$T/w.yml"

log "an unknown user: is refused"
sed "s/^user: .*/user: no-such-walship-user/" "$T/w.yml" >"$T/bad.yml"
if timeout 20 "$WALSHIP" replicate -config "$T/bad.yml" >"$T/bad.log" 2>&1; then
	fail "replicate started with an unknown user"
fi
grep -q 'service user \\"no-such-walship-user\\" does not exist' "$T/bad.log" ||
	fail "no clear error for an unknown user: $(cat "$T/bad.log")"

log "replicate as root with user: $U"
spawn walship env RUNTIME_DIRECTORY="$T/run" "$WALSHIP" replicate -config "$T/w.yml"
WS_PID=$SPAWN_PID
pids() {
	WR=$(child_pid "$WS_PID" "walship: walreader $DB")
	UF=$(child_pid "$WS_PID" "walship: uploader $DB -> f")
	US=$(child_pid "$WS_PID" "walship: uploader $DB -> s")
	CP=$(child_pid "$WS_PID" "walship: compactor")
	[ -n "$WR" ] && [ -n "$UF" ] && [ -n "$US" ] && [ -n "$CP" ]
}
wait_for 20 pids || fail "children not running: $(tail -5 "$T/walship.log")"
wait_for 20 bash -c "ls $T/replica/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
	fail "no snapshot on the file replica: $(tail -5 "$T/walship.log")"
pids

field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
for who in "walreader:$WR" "uploader f:$UF" "uploader s:$US" "compactor:$CP"; do
	name=${who%:*} pid=${who##*:}
	assert_eq "$(field "$pid" Uid | tr -s '\t ' ' ')" "$UID_U $UID_U $UID_U $UID_U" "$name uids"
	assert_eq "$(field "$pid" Gid | tr -s '\t ' ' ')" "$GID_U $GID_U $GID_U $GID_U" "$name gids"
	field "$pid" Groups | tr -s '\t ' '\n' | grep -qx 0 && fail "$name kept root's group"
	assert_eq "$(field "$pid" NoNewPrivs)" 1 "$name NoNewPrivs"
	assert_eq "$(field "$pid" Seccomp)" 2 "$name Seccomp"
	if tr '\0' '\n' <"/proc/$pid/environ" | grep -q 'S3RVER\|^AWS_'; then
		fail "$name has credentials in its environment"
	fi
done

RUN=$(ls -d "$T"/run/walship.*)
assert_eq "$(stat -c '%U %a' "$RUN")" "$U 700" "runtime directory owner and mode"

log "replication while confined"
writer "$DB" 2 200 >/dev/null
wait_for 20 restore_matches "$T/replica" "$DB" || fail "file replica behind the database"
s3_matches() {
	rm -f "$T/.s3.db"
	"$WALSHIP" restore -config "$T/w.yml" -replica s -o "$T/.s3.db" "$DB" >/dev/null 2>&1 &&
		[ "$(table_sum "$T/.s3.db")" == "$(table_sum "$DB")" ]
}
wait_for 20 s3_matches || fail "s3 replica behind the database"
grep -E '"level":"(ERROR|WARN)"|level=(ERROR|WARN)' "$T/walship.log" &&
	fail "errors logged while confined"

log "graceful stop"
kill -TERM "$WS_PID"
wait_for 30 bash -c "! kill -0 $WS_PID 2>/dev/null" || fail "walship did not stop"
wait "$WS_PID" 2>/dev/null && rc=0 || rc=$?
assert_eq "$rc" 0 "replicate exit status"

log "self-test of each role"
selftest() {
	local out="$T/selftest-$1.log" n
	shift
	"$WALSHIP" __sandbox-selftest "$@" -config "$T/w.yml" -db "$DB" >"$out" 2>&1 ||
		fail "self-test $*: $(cat "$out")"
	grep -q ALLOWED "$out" && fail "self-test $*: $(cat "$out")"
	grep -q "confined as uid $UID_U, landlock ABI [1-9]" "$out" ||
		fail "self-test $* not confined as $U with Landlock: $(cat "$out")"
	for a in "read /" "create /" "exec /bin/true" "regain uid 0"; do
		grep -q ": $a.*: denied" "$out" || fail "self-test $*: no denied '$a': $(cat "$out")"
	done
	n=$(grep -c ': denied (' "$out")
	echo "$* $n"
}
selftest walreader walreader >"$T/counts"
selftest file uploader -replica f >>"$T/counts"
selftest s3 uploader -replica s >>"$T/counts"
selftest compactor compactor >>"$T/counts"
grep -q ": read database .*: denied" "$T/selftest-compactor.log" || fail "the compactor may read the database"
grep -q ": socket AF_INET: denied" "$T/selftest-walreader.log" || fail "walreader may open inet sockets"
grep -q ": socket AF_INET: denied" "$T/selftest-file.log" || fail "file uploader may open inet sockets"
grep -q ": read database .*: denied" "$T/selftest-s3.log" || fail "s3 uploader may read the database"
cat "$T/counts"
echo "sandbox ok"
