#!/usr/bin/env bash
# Runs every netns test (netns-tests/*.sh but this one) as root, each in its
# own bash, and says which failed. BUILD selects the build directory.
set -u
cd "$(dirname "$0")"
if ((EUID != 0)); then
	echo "netns tests need root" >&2
	exit 1
fi
failed=()
for t in *.sh; do
	[[ $t == run.sh ]] && continue
	echo "== netns-tests/$t"
	if BUILD=${BUILD:-build} timeout 300 bash "$t"; then
		echo "-- $t: PASS"
	else
		echo "-- $t: FAIL"
		failed+=("$t")
	fi
done
if ((${#failed[@]})); then
	echo "netns tests: FAILED: ${failed[*]}"
	exit 1
fi
echo "netns tests: all passed"
