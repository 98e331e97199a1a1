#!/usr/bin/env bash
# vrrp failover time: kill -9 of the master to the VIP present and the
# first gratuitous ARP on the wire from the new master, RUNS times each
# with 1- and 10-centisecond adverts; prints the median next to the RFC
# 5798 Master_Down_Interval of the backup (priority 100).
#
#        vrrp-bsw-$$: bridge br0
#     +----------------+----------------+
#   wan0             wan0              ow
#  [b1 200]        [b2 100]         [obs: tcpdump -tt arp]
#  10.99.0.1       10.99.0.2        10.99.0.200     VIP 10.99.0.100/24
#
# The kill time is bash's $EPOCHREALTIME just before kill -9; the ARP time
# is tcpdump's kernel timestamp; the VIP time is `ip -ts monitor address`
# in the backup's namespace. All three are CLOCK_REALTIME.
set -eE

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${BUILD:-build}/bin
RUNS=${RUNS:-20}
DIR=$(mktemp -d /tmp/vrrp-bench.XXXXXX)
SW=vrrp-bsw-$$
OBS=vrrp-bobs-$$
NS=(none vrrp-b1-$$ vrrp-b2-$$)
PRIO=(0 200 100)
VIP=10.99.0.100
declare -A PID
BG=()

n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
cleanup() {
	# Only the script itself cleans up, not a just-forked child that a
	# signal reaches before it has exec'd its daemon.
	[[ $BASHPID == "$$" ]] || return 0
	set +e
	for p in "${PID[@]}" "${BG[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "${NS[@]:1}" "$OBS" "$SW"; do ip netns del "$ns" 2>/dev/null; done
	rm -f /dev/shm/vrrp-bench-$$-b*
	rm -rf "$DIR"
}
trap cleanup EXIT

ip netns add "$SW"
ip netns add "$OBS"
n "$SW" ip link add br0 type bridge
n "$SW" ip link set br0 up
link() { # ns ifname swport addr
	ip link add "$3" netns "$SW" type veth peer name "$2" netns "$1"
	n "$SW" ip link set "$3" master br0 up
	n "$1" ip addr add "$4" dev "$2"
	n "$1" ip link set "$2" up
}
for i in 1 2; do
	ip netns add "${NS[i]}"
	link "${NS[i]}" wan0 b$i 10.99.0.$i/24
done
link "$OBS" ow bo 10.99.0.200/24

state() { "$BIN/gwctl" -c "$DIR/b$1.conf" --json status 2>/dev/null | grep -o '"state":"[A-Z]*"' | cut -d'"' -f4; }
wait_state() { # 500 polls, 20 ms apart
	local k
	for ((k = 0; k < 500; k++)); do
		[[ $(state "$1") == "$2" ]] && return 0
		sleep 0.02
	done
	echo "b$1 is $(state "$1"), not $2" >&2
	return 1
}
wait_line() { # file awk-condition
	local k line
	for ((k = 0; k < 250; k++)); do
		line=$(awk "$2 {print; exit}" "$1" 2>/dev/null) || true
		[[ -n $line ]] && { echo "$line"; return 0; }
		sleep 0.02
	done
	return 1
}
start() {
	ip netns exec "${NS[$1]}" "$BIN/vrrp" -c "$DIR/b$1.conf" 2>>"$DIR/b$1.log" &
	PID[$1]=$!
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ip netns exec "$OBS" tcpdump -i ow -tt -n -e -l -U arp >"$DIR/arp" 2>"$DIR/arp.err" &
BG+=($!)
ip netns exec "${NS[2]}" ip -ts monitor address >"$DIR/mon" &
BG+=($!)
wait_line "$DIR/arp.err" '/listening on/' >/dev/null
mac2=$(n "${NS[2]}" cat /sys/class/net/wan0/address)
takeovers=0

printf "%-10s %5s %10s %10s %10s %10s %12s\n" interval runs "VIP med" "GARP med" "GARP min" \
	"GARP max" "RFC MDI"
for cs in 1 10; do
	for i in 1 2; do
		cat >"$DIR/b$i.conf" <<-EOF
		[gateway]
		name = b$i
		member_id = $i
		shm = /vrrp-bench-$$-b$i
		standalone = no
		child_capacity = 16
		ike_capacity = 4
		[vrrp]
		interface = wan0
		vrid = 99
		priority = ${PRIO[i]}
		advert_interval = $cs
		vip = $VIP/24
		garp_count = 0
		EOF
	done
	start 2
	start 1
	: >"$DIR/garp.ms"
	: >"$DIR/vip.ms"
	for ((r = 0; r < RUNS; r++)); do
		wait_state 1 MASTER
		wait_state 2 BACKUP
		sleep 0.$((RANDOM % 10)) # a random phase against the advert timer
		t0=$EPOCHREALTIME
		kill -9 "${PID[1]}"
		line=$(wait_line "$DIR/arp" "\$1 > $t0 && \$2 == \"$mac2\" && /who-has $VIP tell $VIP/")
		awk -v a="${line%% *}" -v b="$t0" 'BEGIN { printf "%.1f\n", (a - b) * 1000 }' >>"$DIR/garp.ms"
		takeovers=$((takeovers + 1))
		line=$(wait_line "$DIR/mon" "/inet $VIP\\// && !/Deleted/ && ++seen == $takeovers")
		ts=${line%%]*}
		ts=$(date -d "${ts#[}" +%s.%N)
		awk -v a="$ts" -v b="$t0" 'BEGIN { printf "%.1f\n", (a - b) * 1000 }' >>"$DIR/vip.ms"
		wait "${PID[1]}" 2>/dev/null || true
		start 1
	done
	wait_state 1 MASTER
	kill -TERM "${PID[1]}" "${PID[2]}"
	wait "${PID[1]}" "${PID[2]}" || true
	unset 'PID[1]' 'PID[2]'
	mdi=$(awk -v c="$cs" 'BEGIN { printf "%.1f ms", 3 * c * 10 + (156 * c * 10) / 256 }')
	printf "%-10s %5d %8s ms %7s ms %7s ms %7s ms %12s\n" "${cs} cs" "$RUNS" \
		"$(median <"$DIR/vip.ms")" "$(median <"$DIR/garp.ms")" \
		"$(sort -n "$DIR/garp.ms" | head -n 1)" "$(sort -n "$DIR/garp.ms" | tail -n 1)" "$mdi"
	echo "  GARP ms, each run: $(tr '\n' ' ' <"$DIR/garp.ms")"
done
