#!/usr/bin/env bash
# vrrp against keepalived (optional: skipped when keepalived is not
# installed). keepalived 2.2.7 sums the IPv4 pseudo-header in its VRRPv3
# checksum, so our member runs with checksum = pseudo-header.
#
#              vrrp-ksw-$$: bridge br0
#        +----------------+----------------+
#      wan0             wan0              ow
#  [k1: vrrp 200]  [k2: keepalived 100]  [obs: tcpdump]
#  192.168.70.1     192.168.70.2         192.168.70.200
#              VIP 192.168.70.100/24, VRID 70, 1-centisecond adverts
set -eE

if ! command -v keepalived >/dev/null; then
	echo "SKIP: keepalived is not installed (apt-get install keepalived)"
	exit 0
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${BUILD:-build}/bin
DIR=$(mktemp -d /tmp/vrrp-ka.XXXXXX)
SW=vrrp-ksw-$$
OBS=vrrp-kobs-$$
K1=vrrp-k1-$$
K2=vrrp-k2-$$
VIP=192.168.70.100
PID_VRRP=
PID_KA=
BG=()

pretty() { echo -e "\x1b[32m\x1b[1m[+] $1:\x1b[0m $2"; }
n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
	[[ $BASHPID == "$$" ]] || return 0
	set +e
	# keepalived's VRRP child has its own pid file; stop both by pid.
	local ka_child
	ka_child=$(cat "$DIR/ka-vrrp.pid" 2>/dev/null)
	[[ -n $PID_KA ]] && kill -TERM "$PID_KA" 2>/dev/null && sleep 0.3
	for p in $PID_VRRP $PID_KA $ka_child "${BG[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "$K1" "$K2" "$OBS" "$SW"; do ip netns del "$ns" 2>/dev/null; done
	rm -f /dev/shm/vrrp-ktest-$$
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'echo "vrrp-keepalived.sh: FAILED at line $LINENO" >&2; tail -n 5 "$DIR"/*.log >&2' ERR

ip netns add "$SW"
n "$SW" ip link add br0 type bridge
n "$SW" ip link set br0 up
link() { # ns ifname swport addr
	ip netns add "$1"
	ip link add "$3" netns "$SW" type veth peer name "$2" netns "$1"
	n "$SW" ip link set "$3" master br0 up
	n "$1" ip addr add "$4" dev "$2"
	n "$1" ip link set "$2" up
	n "$1" ip link set lo up
}
link "$K1" wan0 k1 192.168.70.1/24
link "$K2" wan0 k2 192.168.70.2/24
link "$OBS" ow ko 192.168.70.200/24

cat >"$DIR/k1.conf" <<EOF
[gateway]
name = k1
shm = /vrrp-ktest-$$
standalone = no
child_capacity = 16
ike_capacity = 4
[vrrp]
interface = wan0
vrid = 70
priority = 200
advert_interval = 1
checksum = pseudo-header
vip = $VIP/24
EOF
cat >"$DIR/keepalived.conf" <<EOF
global_defs {
	vrrp_version 3
	router_id k2
}
vrrp_instance VI_70 {
	state BACKUP
	interface wan0
	virtual_router_id 70
	priority 100
	advert_int 0.01
	virtual_ipaddress {
		$VIP/24 dev wan0
	}
}
EOF

state() { "$BIN/gwctl" -c "$DIR/k1.conf" --json status 2>/dev/null | grep -o '"state":"[A-Z]*"' | cut -d'"' -f4; }
ctr() { "$BIN/gwctl" -c "$DIR/k1.conf" --json stats | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
has_vip() { ip -n "$1" -o -4 addr show dev wan0 | grep -q " $VIP/"; }
wait_vip() { # ns present|absent: 300 polls, 20 ms apart
	local k
	for ((k = 0; k < 300; k++)); do
		if has_vip "$1"; then [[ $2 == present ]] && return 0; else [[ $2 == absent ]] && return 0; fi
		sleep 0.02
	done
	echo "VIP not $2 in $1" >&2
	return 1
}
wait_state() {
	local k
	for ((k = 0; k < 300; k++)); do
		[[ $(state) == "$1" ]] && return 0
		sleep 0.02
	done
	echo "k1 is $(state), not $1" >&2
	return 1
}
wait_file_line() {
	local k line
	for ((k = 0; k < 300; k++)); do
		line=$(awk "$2 {print; exit}" "$1" 2>/dev/null) || true
		[[ -n $line ]] && { echo "$line"; return 0; }
		sleep 0.02
	done
	return 1
}
start_vrrp() {
	ip netns exec "$K1" "$BIN/vrrp" -c "$DIR/k1.conf" 2>>"$DIR/vrrp.log" &
	PID_VRRP=$!
}

ip netns exec "$OBS" tcpdump -i ow -tt -n -e -l -U arp >"$DIR/arp" 2>"$DIR/arp.err" &
BG+=($!)
wait_file_line "$DIR/arp.err" '/listening on/' >/dev/null

ip netns exec "$K2" keepalived -n -l -D --vrrp -f "$DIR/keepalived.conf" -p "$DIR/ka.pid" \
	-r "$DIR/ka-vrrp.pid" >>"$DIR/keepalived.log" 2>&1 &
PID_KA=$!
start_vrrp
wait_state MASTER
sleep 0.3
wait_vip "$K2" absent
has_vip "$K1"
[[ $(ctr vrrp_drop_checksum) == 0 ]]
pretty election "our vrrp (200) MASTER, keepalived (100) BACKUP and without the VIP"

mac2=$(n "$K2" cat /sys/class/net/wan0/address)
t0=$EPOCHREALTIME
kill -9 "$PID_VRRP"
wait "$PID_VRRP" 2>/dev/null || true
PID_VRRP=
line=$(wait_file_line "$DIR/arp" "\$1 > $t0 && \$2 == \"$mac2\" && /who-has $VIP .*tell $VIP,/")
ms=$(awk -v a="${line%% *}" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) * 1000 }')
wait_vip "$K2" present
pretty "kill -9" "keepalived took over, its GARP $ms ms after the kill (RFC Master_Down_Interval 36.1 ms)"

rx=$(ctr vrrp_rx_adverts)
start_vrrp
wait_state MASTER
wait_vip "$K2" absent
(($(ctr vrrp_rx_adverts) > rx))
[[ $(ctr vrrp_drop_checksum) == 0 && $(ctr vrrp_drop_addr_list) == 0 ]]
pretty preempt "we heard keepalived's adverts (checksums good) and preempted it"

t0=$EPOCHREALTIME
kill -TERM "$PID_VRRP"
wait "$PID_VRRP"
PID_VRRP=
line=$(wait_file_line "$DIR/arp" "\$1 > $t0 && \$2 == \"$mac2\" && /who-has $VIP .*tell $VIP,/")
ms=$(awk -v a="${line%% *}" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) * 1000 }')
awk -v m="$ms" 'BEGIN { exit !(m < 30) }'
wait_vip "$K2" present
pretty SIGTERM "keepalived honoured our priority 0: its GARP $ms ms later (Skew_Time 6.1 ms)"
echo "vrrp-keepalived: all checks passed"
