#!/usr/bin/env bash
# Runs every fuzz harness for FUZZ_SECONDS each, starting from its seed
# corpus in fuzz/corpus/NAME (new inputs go to a scratch copy, not the
# repository). Fails on any crash, leak or sanitizer report, and prints
# each harness's executions, rate and coverage.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-fuzz}
secs=${FUZZ_SECONDS:-10}
fail=0 pass=0
for bin in "$BUILD"/fuzz/fuzz_*; do
	name=${bin##*/fuzz_}
	work=$(mktemp -d /tmp/hagw-fuzz.XXXXXX)
	cp -r "fuzz/corpus/$name/." "$work/" 2>/dev/null || true
	log=$work.log
	"$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/crash-" \
		-rss_limit_mb=2048 -max_len=2048 "$work" >"$log" 2>&1
	rc=$?
	execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
	rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
	if ((rc != 0)); then
		fail=$((fail + 1))
		echo "fuzz $name: FAILED (exit $rc)"
		grep -m1 -A30 -E 'ERROR|runtime error|Sanitizer' "$log"
		ls "$work"/crash-* 2>/dev/null
	else
		pass=$((pass + 1))
		echo "fuzz $name: ${execs:-?} runs in ${secs}s (${rate:-?}/s), ${cov:-?} edges"
		rm -rf "$work"
	fi
	rm -f "$log"
done
echo "fuzz: $pass passed, $fail failed"
((fail == 0))
