#!/usr/bin/env bash
# vrrp in unicast mode: two members that list each other as peers, and a
# third that is not listed and whose adverts must be dropped and counted.
# Both members use the RFC 5798 pseudo-header checksum, which tcpdump's
# VRRP dissector verifies on the wire independently of our codec.
#
#                   vrrp-usw-$$: bridge brU
#        +------------------+------------------+------------------+
#      wan0               wan0               wan0                ow
#   [gu1 200]          [gu2 100]        [gu3 250, rogue]       [obs]
#  192.168.60.1       192.168.60.2       192.168.60.3       192.168.60.200
#  peer .2            peer .1            peers .1 .2
#                    (tcpdump)
#                 VIP 192.168.60.100/24 dev wan0
set -eE

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${BUILD:-build}/bin
DIR=$(mktemp -d /tmp/vrrp-unicast.XXXXXX)
SW=vrrp-usw-$$
OBS=vrrp-uobs-$$
NS=(none vrrp-gu1-$$ vrrp-gu2-$$ vrrp-gu3-$$)
PRIO=(0 200 100 250)
PEERS=(none "192.168.60.2" "192.168.60.1" "192.168.60.1 192.168.60.2")
VIP=192.168.60.100
declare -A PID
BG=()

pretty() { echo -e "\x1b[32m\x1b[1m[+] $1:\x1b[0m $2"; }
n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
gwctl() { local i=$1; shift; "$BIN/gwctl" -c "$DIR/gu$i.conf" "$@"; }

cleanup() {
	# Only the script itself cleans up, not a just-forked child that a
	# signal reaches before it has exec'd its daemon.
	[[ $BASHPID == "$$" ]] || return 0
	set +e
	for p in "${PID[@]}" "${BG[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "${NS[@]:1}" "$OBS" "$SW"; do ip netns del "$ns" 2>/dev/null; done
	rm -f /dev/shm/vrrp-utest-$$-gu*
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'echo "vrrp-unicast.sh: FAILED at line $LINENO" >&2; tail -n 3 "$DIR"/gu*.log >&2' ERR

ip netns add "$SW"
ip netns add "$OBS"
n "$SW" ip link add brU type bridge
n "$SW" ip link set brU up
link() { # ns ifname swport addr
	ip link add "$3" netns "$SW" type veth peer name "$2" netns "$1"
	n "$SW" ip link set "$3" master brU up
	n "$1" ip addr add "$4" dev "$2"
	n "$1" ip link set "$2" up
	n "$1" ip link set lo up
}
for i in 1 2 3; do
	ip netns add "${NS[i]}"
	link "${NS[i]}" wan0 u$i 192.168.60.$i/24
	{
		cat <<-EOF
		[gateway]
		name = gu$i
		member_id = $i
		shm = /vrrp-utest-$$-gu$i
		standalone = no
		child_capacity = 16
		ike_capacity = 4
		[vrrp]
		interface = wan0
		vrid = 60
		priority = ${PRIO[i]}
		advert_interval = 1
		checksum = pseudo-header
		vip = $VIP/24
		EOF
		for p in ${PEERS[i]}; do echo "peer = $p"; done
	} >"$DIR/gu$i.conf"
done
link "$OBS" ow uo 192.168.60.200/24

state() { gwctl "$1" --json status 2>/dev/null | grep -o '"state":"[A-Z]*"' | cut -d'"' -f4; }
ctr() { gwctl "$1" --json stats | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
has_vip() { ip -n "${NS[$1]}" -o -4 addr show dev wan0 | grep -q " $VIP/"; }
wait_state() { # gw state: 400 polls, 20 ms apart
	local k
	for ((k = 0; k < 400; k++)); do
		[[ $(state "$1") == "$2" ]] && return 0
		sleep 0.02
	done
	echo "gu$1 is $(state "$1"), not $2" >&2
	return 1
}
wait_file_line() { # file awk-condition: 300 polls, 20 ms apart
	local k line
	for ((k = 0; k < 300; k++)); do
		line=$(awk "$2 {print; exit}" "$1" 2>/dev/null) || true
		[[ -n $line ]] && { echo "$line"; return 0; }
		sleep 0.02
	done
	return 1
}
start() {
	ip netns exec "${NS[$1]}" "$BIN/vrrp" -c "$DIR/gu$1.conf" -p "$DIR/gu$1.pid" 2>>"$DIR/gu$1.log" &
	PID[$1]=$!
}

# Unicast frames are not flooded to the observer: listen on gu2's side.
ip netns exec "${NS[2]}" tcpdump -i wan0 -tt -n -v -l -U 'ip proto 112 or arp' >"$DIR/wire" 2>"$DIR/wire.err" &
BG+=($!)
wait_file_line "$DIR/wire.err" '/listening on/' >/dev/null

# --- election over unicast ---
start 2
start 1
wait_state 1 MASTER
wait_state 2 BACKUP
has_vip 1
! has_vip 2 || false
pretty election "gu1 MASTER, gu2 BACKUP over unicast"

# --- kill -9: gu2 takes over; RFC Master_Down_Interval at 100, 1 cs: 36.1 ms ---
mac2=$(n "${NS[2]}" cat /sys/class/net/wan0/address)
t0=$EPOCHREALTIME
kill -9 "${PID[1]}"
wait "${PID[1]}" 2>/dev/null || true
unset 'PID[1]'
wait_state 2 MASTER
line=$(wait_file_line "$DIR/wire" "\$1 > $t0 && /who-has $VIP tell $VIP/")
ms=$(awk -v a="${line%% *}" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) * 1000 }')
awk -v m="$ms" 'BEGIN { exit !(m < 36.1 + 50) }'
has_vip 2
pretty "kill -9" "gu2 MASTER, its GARP $ms ms after the kill (Master_Down_Interval 36.1 ms)"
start 1
wait_state 1 MASTER
wait_state 2 BACKUP
! has_vip 2 || false
pretty preempt "gu1 restarted and preempted"

# --- a sender not on the peer lists ---
d1=$(ctr 1 vrrp_drop_peer)
d2=$(ctr 2 vrrp_drop_peer)
start 3
sleep 0.3
(($(ctr 1 vrrp_drop_peer) > d1 + 10))
(($(ctr 2 vrrp_drop_peer) > d2 + 10))
[[ $(state 1) == MASTER && $(state 2) == BACKUP ]]
[[ $(gwctl 1 --json status) == *'"unicast":true'* ]]
pretty "unlisted peer" "gu3's priority-250 adverts dropped as vrrp_drop_peer ($(ctr 1 vrrp_drop_peer) at gu1), gu1 stays MASTER"

# --- the wire: unicast only, and checksums tcpdump agrees with ---
kill -TERM "${PID[1]}" "${PID[2]}" "${PID[3]}"
for i in 1 2 3; do wait "${PID[$i]}"; unset "PID[$i]"; done
sleep 0.1
adverts=$(grep -c 'VRRPv3, Advertisement' "$DIR/wire")
((adverts > 50))
! grep -q '224.0.0.18' "$DIR/wire" || false
! grep -q 'bad vrrp cksum' "$DIR/wire" || false
grep -q '192.168.60.1 > 192.168.60.2: VRRPv3, Advertisement, vrid 60, prio 200' "$DIR/wire"
pretty wire "$adverts adverts, none to 224.0.0.18, every pseudo-header checksum good for tcpdump"
echo "vrrp-unicast: all checks passed"
