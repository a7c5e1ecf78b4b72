#!/bin/bash
# make bench: walship against Litestream v0.3.13 on the same workloads,
# side by side (steady writes, flat-out writes, restore of a large database),
# on directory replicas and then on S3 replicas (s3rver).
# The table is printed at the end and written to bench/results.txt.
#
#   BENCH_QUICK=1  one repetition of shorter workloads (about 2 minutes)
#   BENCH_REPS=N   repetitions (default 3, quick 1)
#   BENCH_KEEP=DIR copy the replicator log of any run with a problem to DIR
#   BENCH_JSON=F   also write every run's raw figures to F as JSON
#   BENCH_ONLY=dir|s3  only the directory or only the S3 workloads
#
# Everything runs in a fresh temporary directory, removed at the end; every
# process started gets its own session and is killed on exit, on success or
# failure. The workloads and measurement are in bench/*.py.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
: "${WALSHIP:=$ROOT/bin/walship}"
LITESTREAM="$ROOT/.deps/node_modules/@flydotio/litestream-linux-x64/litestream"
export WALSHIP

[ -x "$WALSHIP" ] || { echo "bench: walship not found: $WALSHIP" >&2; exit 1; }
[ -x "$LITESTREAM" ] || { echo "bench: litestream not found (make deps)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench: python3 missing (make deps)" >&2; exit 1; }
# The lag probe decompresses replica objects with the lz4 CLI; restores are
# measured with GNU time. Both are Debian packages of their own names.
missing=""
command -v lz4 >/dev/null || missing="$missing lz4"
[ -x /usr/bin/time ] || missing="$missing time"
if [ -n "$missing" ]; then
	echo "bench: installing Debian packages:$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/walship-bench.XXXXXX")
cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	if [ -n "${PY:-}" ]; then
		kill -TERM "$PY" 2>/dev/null || true
		wait "$PY" 2>/dev/null || true
	fi
	if [ -f "$W/pids" ]; then
		while read -r pid; do
			kill -TERM -- "-$pid" 2>/dev/null || true
		done <"$W/pids"
		sleep 0.5
		while read -r pid; do
			kill -KILL -- "-$pid" 2>/dev/null || true
		done <"$W/pids"
	fi
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 -B -u bench/bench.py "$W" bench/results.txt &
PY=$!
wait "$PY"
