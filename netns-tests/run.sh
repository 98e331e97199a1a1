#!/usr/bin/env bash
# Runs every netns test, each with its own TEST_ID and TEST_TMP, and checks
# after each one that it left no namespace, process or shm table behind.
set -u
cd "$(dirname "$0")"
((EUID == 0)) || { echo "netns tests need root: sudo make check" >&2; exit 1; }

pass=0 fail=0 failed=()
tests=("$@")
((${#tests[@]})) || tests=($(ls *.sh | grep -v -e '^lib.sh$' -e '^run.sh$'))
for t in "${tests[@]}"; do
	id=hg$RANDOM$$
	tmp=$(mktemp -d /tmp/hagw-test.XXXXXX)
	echo "== netns-tests/$t"
	start=$(date +%s)
	# Sanitizer reports (SANITIZE=1 builds) go to $tmp/sanitizer.PID,
	# whatever process writes them and whatever the test does with it.
	if ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$tmp/sanitizer" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$tmp/sanitizer" \
		TEST_ID=$id TEST_TMP=$tmp timeout --kill-after=10 300 bash "./$t"; then
		ok=1
	else
		ok=0
	fi
	left=$(ip netns list | awk '{print $1}' | grep "^$id" || true)
	procs=$(pgrep -f "$tmp" || true)
	shm=$(ls /dev/shm | grep "^$id" || true)
	if [[ $left || $procs || $shm ]]; then
		echo "netns-tests/$t left behind: namespaces [$left] processes [$procs] shm [$shm]"
		for ns in $left; do ip netns pids "$ns" | xargs -r kill -9; ip netns del "$ns"; done
		[[ $procs ]] && kill -9 $procs
		for s in $shm; do rm -f "/dev/shm/$s"; done
		ok=0
	fi
	for r in "$tmp"/sanitizer.*; do
		[[ -e $r ]] || continue
		echo "netns-tests/$t: sanitizer report from pid ${r##*.}:"
		head -40 "$r"
		ok=0
	done
	rm -rf "$tmp"
	if ((ok)); then
		pass=$((pass + 1))
		echo "== netns-tests/$t: PASS ($(($(date +%s) - start)) s)"
	else
		fail=$((fail + 1))
		failed+=("$t")
		echo "== netns-tests/$t: FAIL"
	fi
done
((fail)) && echo "failed: ${failed[*]}"
echo "netns: $pass passed, $fail failed"
((fail == 0))
