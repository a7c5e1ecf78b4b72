# lib.sh: the integration test harness, sourced by every tests/integ/t_*.sh.
#
# Each scenario runs the real walship binary ($WALSHIP) and real peers
# (Litestream v0.3.13, s3rver, sqlite3, awscli) on 127.0.0.1, in a temporary
# directory of its own ($T). Every process started with `spawn` is killed
# when the script exits, whatever the reason; the directory is removed on
# success and kept (its path printed) on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${BUILD:=build}"
: "${WALSHIP:=$ROOT/bin/walship}"
LITESTREAM="$ROOT/.deps/node_modules/@flydotio/litestream-linux-x64/litestream"
S3RVER="$ROOT/.deps/node_modules/.bin/s3rver"
export WALSHIP LITESTREAM

[ -x "$WALSHIP" ] || { echo "walship binary not found: $WALSHIP"; exit 1; }
[ -x "$LITESTREAM" ] || { echo "litestream not found: $LITESTREAM (make deps)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/walship-test.XXXXXX")
SPAWNED=()

cleanup() {
	local rc=$?
	local pid
	for pid in "${SPAWNED[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${SPAWNED[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	done
	# A sanitizer report in any process (a supervised child would just be
	# restarted) fails the scenario.
	if [ "$rc" -eq 0 ] && grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer has encountered a fatal error" \
		"$T"/*.log >/dev/null 2>&1; then
		grep -hE -A5 "ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer has encountered a fatal error" "$T"/*.log | head -40
		echo "FAIL: sanitizer report in a process log"
		rc=1
	fi
	if [ "$rc" -eq 0 ]; then
		rm -rf "$T"
	else
		echo "test failed (exit $rc); its files are kept in $T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

log() {
	echo "--- $*"
}

# spawn NAME CMD...: runs CMD in the background in its own process group,
# output to $T/NAME.log; sets SPAWN_PID.
spawn() {
	local name=$1
	shift
	setsid "$@" >"$T/$name.log" 2>&1 &
	SPAWN_PID=$!
	SPAWNED+=("$SPAWN_PID")
}

# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	local secs=$1
	shift
	local end=$((SECONDS + secs))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

assert_eq() {
	[ "$1" == "$2" ] || fail "${3:-values differ}: got '$1', want '$2'"
}

# assert_same_output DESC FILE_A FILE_B: byte-for-byte, with a diff on failure.
assert_same_output() {
	if ! cmp -s "$2" "$3"; then
		diff -u "$2" "$3" || true
		fail "$1: outputs differ"
	fi
}

# sqlite_sum DB: a checksum of table t's content, for comparing restores.
table_sum() {
	sqlite3 "$1" 'SELECT count(*) || ":" || coalesce(sum(length(v)), 0) || ":" || coalesce(sum(id), 0) FROM t'
}

integrity() {
	sqlite3 "$1" 'PRAGMA integrity_check'
}

# rfc3339_now: the current UTC time with milliseconds.
rfc3339_now() {
	date -u +%Y-%m-%dT%H:%M:%S.%3NZ
}

# writer DB SECONDS RATE: inserts rows into table t (id, v) at about RATE
# transactions a second for SECONDS, one row each; prints the last id.
writer() {
	local db=$1 secs=$2 rate=$3 start=${4:-1}
	python3 - "$db" "$secs" "$rate" "$start" <<'PY'
import sqlite3, sys, time
db, secs, rate, start = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
c = sqlite3.connect(db, timeout=30, isolation_level=None)
c.execute("PRAGMA busy_timeout=30000")
end = time.time() + secs
i = start
while time.time() < end:
    c.execute("INSERT INTO t(id, v) VALUES (?, ?)", (i, "%0200d" % i))
    i += 1
    time.sleep(1.0 / rate)
print(i - 1)
PY
}

# wait_replica_caught_up REPLICA_DIR DB SECS: until a restore of the replica
# holds every row of DB (by restoring into a scratch file).
restore_matches() {
	local replica=$1 db=$2 out="$T/.probe.db"
	rm -f "$out"
	"$WALSHIP" restore -o "$out" "file://$replica" >/dev/null 2>&1 || return 1
	[ "$(table_sum "$out")" == "$(table_sum "$db")" ]
}

# ---- helpers for the process-tree scenarios ---------------------------------

# bg_writer NAME DB RATE [START]: the `writer` above in the background (its
# own process group, output in $T/NAME.log) for up to ten minutes; sets
# WRITER_PID. stop_writer PID ends it with SIGINT, which Python turns into
# an exception once the statement in progress has returned: a SIGTERM could
# kill it between writing a commit frame to the WAL and publishing it in the
# wal-index, leaving a transaction that readers do not see yet but a later
# recovery would (a crashed application, not what these scenarios test).
# A background job starts with SIGINT ignored: env gives it back.
bg_writer() {
	local name=$1 db=$2 rate=$3 start=${4:-1}
	export -f writer
	spawn "$name" env --default-signal=INT bash -c 'writer "$0" 600 "$1" "$2"' "$db" "$rate" "$start"
	WRITER_PID=$SPAWN_PID
}
stop_writer() {
	kill -INT -- "-$1" 2>/dev/null || true
	wait_for 10 bash -c "! kill -0 $1 2>/dev/null" || fail "writer $1 did not stop"
}

# child_pid PARENT TITLE: the pid of PARENT's child whose process title
# (ps -o args) is exactly TITLE; empty when there is none.
child_pid() {
	ps -o pid=,args= --ppid "$1" 2>/dev/null |
		awk -v t="$2" '{ p = $1; sub(/^ *[0-9]+ /, ""); if ($0 == t) print p }'
}

# walship_pids: every walship process (the binary, or a child by its
# title) working on this scenario's directory, one pid a line.
walship_pids() {
	ps -eo pid=,args= | awk -v d="$T" -v w="$WALSHIP" \
		'($2 == w || $2 == "walship:") && index($0, d) { print $1 }'
}

# replica_rows REPLICA_URL [ARGS...]: restores the replica into a scratch
# file and prints its row count; fails when the restore fails.
replica_rows() {
	local url=$1 out="$T/.rows.db"
	shift
	rm -f "$out"
	"$WALSHIP" restore "$@" -o "$out" "$url" >/dev/null 2>&1 || return 1
	sqlite3 "$out" 'SELECT count(*) FROM t'
}

# rand_delay: a random duration between 0.3 and 2 s, for kill moments.
rand_delay() {
	awk -v r="$RANDOM" 'BEGIN { printf "%.2f\n", 0.3 + (r % 1701) / 1000 }'
}

# ---- S3 ----------------------------------------------------------------------

# start_s3rver [BUCKET...]: s3rver 3.7.1 through tests/integ/s3rver.js (its
# listing fixed, SigV4 signatures checked) on a free 127.0.0.1 port, storing
# in $T/s3rver-PORT, with BUCKETs created (default: bkt); waits until it
# answers. Sets S3_PORT, S3_ENDPOINT (http://127.0.0.1:PORT) and S3_PID, and
# exports s3rver's credentials (S3RVER/S3RVER) as AWS_*, region us-east-1.
# The server sees the caller's environment, e.g. S3RVER_NO_V2=1 or
# S3RVER_NO_MULTI_DELETE=1 to act as a store without those requests.
start_s3rver() {
	local buckets=("$@")
	[ ${#buckets[@]} -gt 0 ] || buckets=(bkt)
	[ -f "$ROOT/.deps/node_modules/s3rver/package.json" ] ||
		fail "s3rver not installed (make deps)"
	S3_PORT=$(free_port)
	S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
	export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
	unset AWS_SESSION_TOKEN AWS_PROFILE
	spawn "s3rver-$S3_PORT" node "$ROOT/tests/integ/s3rver.js" "$S3_PORT" \
		"$T/s3rver-$S3_PORT" "${buckets[@]}"
	S3_PID=$SPAWN_PID
	wait_for 30 grep -q '^ready' "$T/s3rver-$S3_PORT.log" ||
		fail "s3rver did not start: $(tail -5 "$T/s3rver-$S3_PORT.log")"
	wait_for 10 curl -s -o /dev/null "$S3_ENDPOINT/" ||
		fail "s3rver does not answer on $S3_ENDPOINT"
}

# aws_s3 ARGS...: awscli against the last start_s3rver.
aws_s3() {
	aws --endpoint-url "$S3_ENDPOINT" "$@"
}

# middle_segment: from segment names (any prefix, ending in
# IIIIIIII_OOOOOOOO.wal.lz4) on stdin, one that another segment of the same
# index follows. Only such a gap is detectable: nothing in a replica says
# where an index ends, so a lost last segment of an index looks like an
# index that ended there.
middle_segment() {
	sort | awk -F/ '{ n = $NF; idx = substr(n, 1, 8) }
		prev != "" && idx == previdx && pick == "" && NR > 2 { pick = prev }
		{ prev = $0; previdx = idx }
		END { if (pick != "") print pick }'
}

# start_faultproxy NAME RATE: tests/integ/faultproxy.py in front of the last
# start_s3rver, answering every (1 / RATE)th request with a fault (500, 503,
# reset, lost answer, hang) and logging each to $T/NAME.events. The
# environment's FAULTPROXY_STALL_AT / FAULTPROXY_STALL_S reach it. Sets
# PROXY_ENDPOINT.
start_faultproxy() {
	local name=$1 rate=$2 port
	port=$(free_port)
	spawn "$name" python3 "$ROOT/tests/integ/faultproxy.py" "$port" "$S3_PORT" \
		"$T/$name.events" "$rate"
	wait_for 10 grep -q '^ready' "$T/$name.log" ||
		fail "fault proxy did not start: $(tail -5 "$T/$name.log")"
	PROXY_ENDPOINT="http://127.0.0.1:$port"
}

# s3_replica_yaml NAME PATH SYNC_INTERVAL [ENDPOINT]: a `replicas:` entry
# (at the indentation of a dbs[].replicas list) for PATH in bucket bkt of
# the last start_s3rver, or of ENDPOINT.
s3_replica_yaml() {
	cat <<YML
      - name: $1
        type: s3
        bucket: bkt
        path: $2
        endpoint: ${4:-$S3_ENDPOINT}
        region: us-east-1
        force-path-style: true
        sync-interval: $3
YML
}

# ---- retention ---------------------------------------------------------------

# paced_writer DB STEPS OUT [START]: STEPS bursts of ten one-row
# transactions into table t, each followed by a quiet time; 0.6 s into it
# (every burst uploaded by then, at sync-intervals well under 0.5 s) it
# appends "TIME SUM" to OUT: TIME in RFC 3339 and SUM the table_sum of DB,
# so a restore with -timestamp TIME must give SUM. The next burst starts
# in a later second than TIME, as S3 LastModified has whole seconds.
paced_writer() {
	local db=$1 steps=$2 out=$3 id=${4:-1}
	for _ in $(seq "$steps"); do
		for _ in $(seq 10); do
			sqlite3 "$db" "PRAGMA busy_timeout=30000; INSERT INTO t(id, v) VALUES ($id, printf('%0200d', $id));" >/dev/null
			id=$((id + 1))
		done
		sleep 0.6
		echo "$(rfc3339_now) $(table_sum "$db")" >>"$out"
		sleep "$(date +%N | awk '{ printf "%.3f", 1.05 - $1 / 1e9 }')"
	done
}

# check_points_restore URL OUT SINCE [ARGS...]: every "TIME SUM" line of
# OUT whose TIME is at or after SINCE (epoch seconds) restores from URL with
# -timestamp TIME to exactly SUM; prints how many were checked.
check_points_restore() {
	local url=$1 out=$2 since=$3 n=0 ts sum got
	shift 3
	while read -r ts sum; do
		[ "$(date -d "$ts" +%s)" -ge "$since" ] || continue
		rm -f "$T/.point.db"
		"$WALSHIP" restore "$@" -timestamp "$ts" -o "$T/.point.db" "$url" \
			>"$T/.point.log" 2>&1 ||
			fail "restore at $ts failed: $(cat "$T/.point.log")"
		got=$(table_sum "$T/.point.db")
		[ "$got" == "$sum" ] || fail "restore at $ts: got $got, want $sum"
		n=$((n + 1))
	done <"$out"
	echo "$n"
}

# start_checkpointing MONITOR MIN MAX: walship on a new database $DB
# (table t(id, v)) with one directory replica $T/replica, debug logging
# (the checkpoints' modes are in $T/walship.log), the given
# monitor-interval and checkpoint thresholds and checkpoint-interval far
# off; returns once the first snapshot is on the replica.
start_checkpointing() {
	DB="$T/app.db"
	sqlite3 "$DB" 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
	cat >"$T/w.yml" <<YML
user: root
logging:
  level: debug
dbs:
  - path: $DB
    monitor-interval: $1
    min-checkpoint-page-count: $2
    max-checkpoint-page-count: $3
    checkpoint-interval: 1h
    replicas:
      - type: file
        path: $T/replica
        sync-interval: 200ms
YML
	spawn walship "$WALSHIP" replicate -config "$T/w.yml"
	wait_for 20 bash -c "ls $T/replica/generations/*/snapshots/*.lz4 >/dev/null 2>&1" ||
		fail "no snapshot: $(tail -5 "$T/walship.log")"
}
