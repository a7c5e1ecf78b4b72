#!/bin/bash
# Runs walship's tests and ends with one line "N passed, N failed".
#
#   run-tests.sh [--unit-only] UNIT_BINARY...
#
# Unit binaries print their own "N passed, N failed" line; their counts are
# added up. Then every tests/integ/*.sh scenario runs (unless --unit-only),
# each one test: exit 0 passes, anything else fails, its output is kept in
# $BUILD/integ-logs/NAME.log and shown on failure. VALGRIND=1 runs the unit
# binaries under valgrind with leak checking; a leak fails the binary.
# INTEG=pattern limits the scenarios to names matching the glob;
# INTEG_TIMEOUT=seconds bounds each one (default 900).
set -u
cd "$(dirname "$0")/.."
unit_only=0
if [ "${1:-}" = "--unit-only" ]; then unit_only=1; shift; fi
: "${BUILD:=build}"
export BUILD

passed=0 failed=0
failures=()

for bin in "$@"; do
	name=$(basename "$bin")
	if [ "${VALGRIND:-0}" = 1 ]; then
		out=$(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
			--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
			"$bin" 2>&1)
	else
		out=$("$bin" 2>&1)
	fi
	rc=$?
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -n "$line" ]; then
		p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
	else
		p=0 f=1
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("$name")
		printf '%s\n' "$out" | grep -vE '^ok ' | sed "s/^/  [$name] /"
		echo "FAIL $name (exit $rc)"
	else
		echo "ok   $name ($p tests)"
	fi
done

if [ "$unit_only" = 0 ]; then
	logs="$BUILD/integ-logs"
	mkdir -p "$logs"
	for t in tests/integ/t_*.sh; do
		[ -e "$t" ] || continue
		name=$(basename "$t" .sh)
		case "$name" in ${INTEG:-*}) ;; *) continue ;; esac
		start=$(date +%s)
		# A hung scenario must not hang the run: timeout signals the
		# scenario's whole process group (TERM, then KILL), so a process
		# it waits on in the foreground dies too and its cleanup runs.
		if timeout -k 20 "${INTEG_TIMEOUT:-900}" bash "$t" >"$logs/$name.log" 2>&1; then
			passed=$((passed + 1))
			echo "ok   $name ($(( $(date +%s) - start ))s)"
		else
			failed=$((failed + 1))
			failures+=("$name")
			[ $(( $(date +%s) - start )) -lt "${INTEG_TIMEOUT:-900}" ] ||
				echo "timed out after ${INTEG_TIMEOUT:-900}s" >>"$logs/$name.log"
			tail -40 "$logs/$name.log" | sed "s/^/  [$name] /"
			echo "FAIL $name (log: $logs/$name.log)"
		fi
	done
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
