#!/usr/bin/env bash
# The promotion of a standby with 1,000,000 Child SAs (issue 6): how long
# from promote_prepare() to the role flip, i.e. before the first packet can
# leave. No network, no root needed: one shm table (/dev/shm, ~1.4 GiB for
# a million SAs), removed on exit.
#
#   bench/promote.sh            N=1000000 RUNS=7 by default
#
# It prints the report of each kind of run (gwctl failover last's figures),
# then the spread of the runs, and last:
#   promote: sas=<N> ms=<slowest run, rounded up>
set -e

BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-1000000}
RUNS=${RUNS:-7}
dir=$(mktemp -d /tmp/hagw-bench-promote.XXXXXX)
SHM=/hagw-bench-promote-$$

cleanup() {
	rm -f "/dev/shm$SHM"
	rm -rf "$dir"
}
trap cleanup EXIT

[[ -f $ROOT/$BUILD/lib/libcommon.a ]] || { echo "build first (make)"; exit 1; }
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$ROOT/common" -o "$dir/promote_bench" \
	"$ROOT/bench/promote_bench.c" "$ROOT/$BUILD/lib/libcommon.a" \
	$(pkg-config --cflags --libs libsodium inih) -lpthread -lrt

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
"$dir/promote_bench" "$SHM" "$N" "$RUNS"
