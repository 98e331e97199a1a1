#!/usr/bin/env bash
# syncd benchmark (root): two members in namespaces joined by a veth.
#
#   ns A (ACTIVE, 100,000 Child SAs) ── sync veth ── ns B (STANDBY)
#   10.77.0.1                                        10.77.0.2
#
# 1. bulk: B's syncd starts against A's full table; time until B is in sync
#    (connect, handshake, snapshot, sweep), and the apply time B reports.
# 2. steady: every SA moves 100 packets/s (below packet_threshold per
#    interval, so each is sent once per interval: the interval path at full
#    width) at the default interval; CPU of both syncd from /proc, bytes
#    from A's status, the counters' lag from B's status.
# Last line: sync: bulk_100k_s=.. steady_cpu_pct=.. steady_kbps=..
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
	printf '[sync]\nlocal = %s\npeer = %s\npsk = %s\n' "$3" "$4" "$PSK"
}
conf 1 /hagw-b-a-$$ 10.77.0.1 10.77.0.2 >"$dir/a.conf"
conf 2 /hagw-b-b-$$ 10.77.0.2 10.77.0.1 >"$dir/b.conf"

"$dir/sync_load" /hagw-b-a-$$ 1 $N $((N + 1000)) 0 0
ip netns exec $A "$BIN/syncd" -c "$dir/a.conf" >"$dir/a.log" 2>&1 &
sa=$!
pids+=($sa)
sleep 0.3
t0=$(date +%s%N)
ip netns exec $B "$BIN/syncd" -c "$dir/b.conf" >"$dir/b.log" 2>&1 &
sb=$!
pids+=($sb)
wait_for 3000 in_sync /hagw-b-b-$$
t1=$(date +%s%N)
bulk_ms=$(((t1 - t0) / 1000000))
st=$("$BIN/gwctl" -s /hagw-b-b-$$ --json status)
applied_us=$(jget bulk_last_us <<<"$st")
n_b=$(jget child_sas <<<"$st")
echo "bulk:   $n_b Child SAs; syncd start -> in sync ${bulk_ms} ms; snapshot applied in $((applied_us / 1000)) ms"
((n_b == N))

"$dir/sync_load" /hagw-b-a-$$ 1 $N $((N + 1000)) 100 $((SECS + 3)) >/dev/null &
pids+=($!)
sleep 1.5
hz=$(getconf CLK_TCK)
c0=$(($(cpu_ticks $sa) + $(cpu_ticks $sb)))
b0=$("$BIN/gwctl" -s /hagw-b-a-$$ --json status | jget bytes_tx)
m0=$("$BIN/gwctl" -s /hagw-b-a-$$ --json status | jget msgs_tx)
t0=$(date +%s%N)
sleep "$SECS"
c1=$(($(cpu_ticks $sa) + $(cpu_ticks $sb)))
b1=$("$BIN/gwctl" -s /hagw-b-a-$$ --json status | jget bytes_tx)
m1=$("$BIN/gwctl" -s /hagw-b-a-$$ --json status | jget msgs_tx)
t1=$(date +%s%N)
ca=$(cpu_ticks $sa) cb=$(cpu_ticks $sb)
el_ms=$(((t1 - t0) / 1000000))
echo "        cpu ticks since start (bulk included): A $ca B $cb"
cpu_pct=$(awk -v c=$((c1 - c0)) -v hz=$hz -v ms=$el_ms 'BEGIN{printf "%.1f", 100 * c / hz / (ms / 1000)}')
kbps=$(((b1 - b0) * 8 / el_ms))
st=$("$BIN/gwctl" -s /hagw-b-b-$$ --json status)
echo "steady: $N SAs moving, ${el_ms} ms: syncd A+B ${cpu_pct}% of one core; $(((m1 - m0) * 1000 / el_ms)) msgs/s," \
	"$(((b1 - b0) / el_ms)) kB/s; counter lag last $(jget ctr_lag_ms <<<"$st") ms, max $(jget ctr_lag_ms_max <<<"$st") ms"
echo "        (per 1,000 SAs: $(((b1 - b0) * 1000 / el_ms * 1000 / N / 1000)) kB/s)"
"$BIN/gwctl" -s /hagw-b-b-$$ sa show 0x10000007 | grep synced
echo "sync: bulk_100k_s=$(awk -v ms=$bulk_ms 'BEGIN{printf "%.3f", ms / 1000}') steady_cpu_pct=${cpu_pct} steady_kbps=${kbps}"
