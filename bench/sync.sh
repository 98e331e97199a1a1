#!/usr/bin/env bash
# syncd benchmark (root): two members in namespaces joined by a veth.
#
#   ns A (ACTIVE, 100,000 Child SAs) ── sync veth ── ns B (STANDBY)
#   10.77.0.1                                        10.77.0.2
#
# 1. bulk: A's syncd starts with its full table, B's listening with an empty
#    one; time until B is in sync (connect, handshake, snapshot, sweep), and
#    the apply time B reports.
# 2. steady: every SA moves 100 packets/s (below packet_threshold per
#    interval, so each is sent once per interval: the interval path at full
#    width) at the default interval; CPU of both syncd from /proc, bytes
#    from A's status, the counters' lag from B's status.
#    The CPU figure is utime+stime (/proc/PID/stat, every thread) of both
#    syncd over the window between two samples; the updates the standby
#    applied in that window show the work was all done (10 per SA per
#    second at the default interval).
# Last line: sync: bulk_100k_s=.. steady_cpu_pct=.. steady_kbps=..
#
# N (SAs, 100000), SECS (steady window, 5), BENCH_SYNC_EXTRA (lines added
# to both [sync] sections, e.g. $'scan_ms = 50\n'), BENCH_PERF=DIR (instead
# of the figures: perf record -g of each syncd over the window, written to
# DIR/perf-sync-a.data and -b.data).
set -e

BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/$BUILD/bin
N=${N:-100000}
SECS=${SECS:-5}
dir=$(mktemp -d /tmp/hagw-bench-sync.XXXXXX)
A=hb-sa-$$ B=hb-sb-$$
pids=()

cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	rm -f /dev/shm/hagw-b-a-$$ /dev/shm/hagw-b-b-$$
	rm -rf "$dir"
}
trap cleanup EXIT

wait_for() {
	local n=$1
	shift
	while ((n-- > 0)); do
		"$@" && return 0
		sleep 0.01
	done
	echo "timed out waiting for: $*" >&2
	return 1
}
jget() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2 | tr -d '"'; }
in_sync() { "$BIN/gwctl" -s "$1" --json status 2>/dev/null | grep -q '^{[^{]*"in_sync":true'; }
listening() { "$BIN/gwctl" -s "$1" --json status 2>/dev/null | grep -q '"link":"listening"'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

[[ -x $BIN/syncd ]] || { echo "build first (make)"; exit 1; }
cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/common" -o "$dir/sync_load" "$ROOT/bench/sync_load.c" \
	"$ROOT/$BUILD/lib/libcommon.a" $(pkg-config --cflags --libs libsodium) -lpthread -lrt

ip netns add $A
ip netns add $B
ip link add s0 netns $A type veth peer name s0 netns $B
ip -n $A addr add 10.77.0.1/24 dev s0
ip -n $B addr add 10.77.0.2/24 dev s0
ip -n $A link set s0 up
ip -n $B link set s0 up
PSK=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
conf() { # member shm local peer
	printf '[gateway]\nmember_id = %s\nname = b%s\nshm = %s\nchild_capacity = %s\nike_capacity = 16\nstandalone = no\n\n' \
		"$1" "$1" "$2" $((N + 1000))
	printf '[sync]\nlocal = %s\npeer = %s\npsk = %s\n%s' "$3" "$4" "$PSK" "${BENCH_SYNC_EXTRA:-}"
}
conf 1 /hagw-b-a-$$ 10.77.0.1 10.77.0.2 >"$dir/a.conf"
conf 2 /hagw-b-b-$$ 10.77.0.2 10.77.0.1 >"$dir/b.conf"

"$dir/sync_load" /hagw-b-a-$$ 1 $N $((N + 1000)) 0 0
# B (the higher address) listens, A connects: B first, so that the time
# measured is the connection and the snapshot, not A's reconnect backoff
ip netns exec $B "$BIN/syncd" -c "$dir/b.conf" >"$dir/b.log" 2>&1 &
sb=$!
pids+=($sb)
wait_for 500 listening /hagw-b-b-$$
t0=$(date +%s%N)
ip netns exec $A "$BIN/syncd" -c "$dir/a.conf" >"$dir/a.log" 2>&1 &
sa=$!
pids+=($sa)
wait_for 3000 in_sync /hagw-b-b-$$
t1=$(date +%s%N)
bulk_ms=$(((t1 - t0) / 1000000))
# the status block follows the in-sync flag by up to a scan
wait_for 100 eval '(($("$BIN/gwctl" -s /hagw-b-b-$$ --json status | jget bulk_last_us) > 0))'
st=$("$BIN/gwctl" -s /hagw-b-b-$$ --json status)
applied_us=$(jget bulk_last_us <<<"$st")
n_b=$(jget child_sas <<<"$st")
echo "bulk:   $n_b Child SAs; syncd start -> in sync ${bulk_ms} ms; snapshot applied in $((applied_us / 1000)) ms"
((n_b == N))

"$dir/sync_load" /hagw-b-a-$$ 1 $N $((N + 1000)) 100 $((SECS + 3)) >/dev/null &
pids+=($!)
sleep 1.5
[[ $(cat /proc/$sa/comm) == syncd && $(cat /proc/$sb/comm) == syncd ]]
if [[ ${BENCH_PERF:-} ]]; then
	# a profile instead of a figure: perf's own cost would count
	mkdir -p "$BENCH_PERF"
	perf record -q -g -p "$sa" -o "$BENCH_PERF/perf-sync-a.data" -- sleep "$SECS" >/dev/null 2>&1 &
	pa=$!
	perf record -q -g -p "$sb" -o "$BENCH_PERF/perf-sync-b.data" -- sleep "$SECS" >/dev/null 2>&1 &
	pb=$!
	wait $pa $pb
	echo "profiles in $BENCH_PERF/perf-sync-{a,b}.data"
	exit 0
fi
hz=$(getconf CLK_TCK)
stat_a() { "$BIN/gwctl" -s /hagw-b-a-$$ --json status; }
stat_b() { "$BIN/gwctl" -s /hagw-b-b-$$ --json status; }
# The window is delimited by the two CPU samples; each sample is taken
# with its clock reading, and the status reads stay outside it.
# (syncd publishes its status every scan: the byte and update counts are
# as fresh as that, over the same window give or take a scan)
load=$(cut -d' ' -f1-3 /proc/loadavg)
sa0=$(stat_a) sb0=$(stat_b)
t0=$(date +%s%N) a0=$(cpu_ticks $sa) b0t=$(cpu_ticks $sb)
sleep "$SECS"
a1=$(cpu_ticks $sa) b1t=$(cpu_ticks $sb) t1=$(date +%s%N)
sa1=$(stat_a) sb1=$(stat_b)
c0=$((a0 + b0t)) c1=$((a1 + b1t))
b0=$(jget bytes_tx <<<"$sa0") m0=$(jget msgs_tx <<<"$sa0") u0=$(jget applied_ctr <<<"$sb0")
b1=$(jget bytes_tx <<<"$sa1") m1=$(jget msgs_tx <<<"$sa1") u1=$(jget applied_ctr <<<"$sb1")
ca=$(cpu_ticks $sa) cb=$(cpu_ticks $sb)
el_ms=$(((t1 - t0) / 1000000))
echo "        cpu ticks since start (bulk included): A $ca B $cb; load average before: $load"
pct() { awk -v c=$1 -v hz=$hz -v ms=$el_ms 'BEGIN{printf "%.1f", 100 * c / hz / (ms / 1000)}'; }
cpu_pct=$(pct $((c1 - c0)))
kbps=$(((b1 - b0) * 8 / el_ms))
st=$sb1
echo "steady: $N SAs moving, ${el_ms} ms: syncd A+B ${cpu_pct}% of one core (A $(pct $((a1 - a0)))%, B $(pct $((b1t - b0t)))%); $(((m1 - m0) * 1000 / el_ms)) msgs/s," \
	"$(((b1 - b0) / el_ms)) kB/s; counter lag last $(jget ctr_lag_ms <<<"$st") ms, max $(jget ctr_lag_ms_max <<<"$st") ms"
# the work done in the window: every SA moves in every interval, so the
# standby must apply about N * 1000 / interval_ms updates per second
ups=$(((u1 - u0) * 1000 / el_ms))
echo "        standby applied $ups counter updates/s ($(awk -v u=$ups -v n=$N 'BEGIN{printf "%.2f", u / n}') per SA per second, 10 expected)"
echo "        (per 1,000 SAs: $(((b1 - b0) * 1000 / el_ms * 1000 / N / 1000)) kB/s)"
"$BIN/gwctl" -s /hagw-b-b-$$ sa show 0x10000007 | grep synced
echo "sync: bulk_100k_s=$(awk -v ms=$bulk_ms 'BEGIN{printf "%.3f", ms / 1000}') steady_cpu_pct=${cpu_pct} steady_kbps=${kbps}"
