#!/usr/bin/env bash
# The hagw lab: network namespaces on this machine, nothing leaves it.
#
#   client ---- site ========= WAN 192.168.240.0/24 ========= gw1 ---- server
#  10.1.0.2   10.1.0.1                                      10.2.0.1   10.2.0.2
#   (lan)     .240.2 (gwd standalone, the remote peer)     .240.1     (lan)
#
# usage: lab.sh up | status | traffic [SECONDS] | down | demo
#   ALG=aes256gcm16|chacha20poly1305  ESN=yes|no   (default aes256gcm16, no)
#
# Namespaces are hagw-client, hagw-site, hagw-gw1, hagw-server; state lives
# in $LAB_DIR (default /run/hagw-lab): configs, logs, PIDs. Explore with
# e.g. `ip netns exec hagw-gw1 bash`, or
# `build/bin/gwctl -c /run/hagw-lab/gw1.conf sa list`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${BUILD:-build}/bin
LAB_DIR=${LAB_DIR:-/run/hagw-lab}
P=hagw
NSS=(client site gw1 server)
ALG=${ALG:-aes256gcm16}
ESN=${ESN:-no}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
n() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

randkey() { od -An -tx1 -N36 /dev/urandom | tr -d ' \n'; }

write_conf() { # NAME ID LOCAL SPI_IN SPI_OUT KEY_IN KEY_OUT LOCAL_TS REMOTE_TS PEER
	cat >"$LAB_DIR/$1.conf" <<EOC
# $1: written by examples/lab.sh
[gateway]
member_id = $2
name = lab-$1
tun = hagw0
local = $3
shm = /hagw-lab-$1
control = $LAB_DIR/$1.ctl

[sa tunnel]
spi_in = $4
spi_out = $5
alg = $ALG
esn = $ESN
key_in = $6
key_out = $7
local_ts = $8
remote_ts = $9
peer = ${10}
EOC
}

up() {
	((EUID == 0)) || { echo "lab.sh: run as root (sudo make demo)" >&2; exit 1; }
	[[ -x $BIN/gwd ]] || { echo "lab.sh: build first (make)" >&2; exit 1; }
	if ip netns list | grep -q "^$P-"; then
		echo "lab.sh: a lab is already up; 'lab.sh down' first" >&2
		exit 1
	fi
	mkdir -p "$LAB_DIR"
	local ns
	for ns in "${NSS[@]}"; do
		ip netns add "$P-$ns"
		n "$ns" ip link set lo up
	done
	ip link add lan0 netns $P-client type veth peer name lan0 netns $P-site
	ip link add wan0 netns $P-site type veth peer name wan0 netns $P-gw1
	ip link add lan0 netns $P-gw1 type veth peer name lan0 netns $P-server
	n client ip addr add 10.1.0.2/24 dev lan0
	n site ip addr add 10.1.0.1/24 dev lan0
	n site ip addr add 192.168.240.2/24 dev wan0
	n gw1 ip addr add 192.168.240.1/24 dev wan0
	n gw1 ip addr add 10.2.0.1/24 dev lan0
	n server ip addr add 10.2.0.2/24 dev lan0
	for ns in "${NSS[@]}"; do
		n "$ns" ip link set lan0 up 2>/dev/null || true
		n "$ns" ip link set wan0 up 2>/dev/null || true
	done
	n client ip route add default via 10.1.0.1
	n server ip route add default via 10.2.0.1
	n site sysctl -qw net.ipv4.ip_forward=1
	n gw1 sysctl -qw net.ipv4.ip_forward=1

	local k1 k2
	k1=$(randkey)
	k2=$(randkey)
	write_conf site 1 192.168.240.2 0x1001 0x2001 "$k1" "$k2" 10.1.0.0/24 10.2.0.0/24 192.168.240.1
	write_conf gw1 2 192.168.240.1 0x2001 0x1001 "$k2" "$k1" 10.2.0.0/24 10.1.0.0/24 192.168.240.2
	for ns in site gw1; do
		ip netns exec "$P-$ns" "$BIN/gwd" -c "$LAB_DIR/$ns.conf" -p "$LAB_DIR/$ns.pid" \
			>"$LAB_DIR/$ns.log" 2>&1 &
	done
	local i
	for ((i = 0; i < 100; i++)); do
		n client ping -c 1 -W 0.2 10.2.0.2 >/dev/null 2>&1 && break
		sleep 0.05
	done
	((i < 100)) || { echo "lab.sh: the tunnel did not come up; see $LAB_DIR/*.log" >&2; exit 1; }
	echo "lab up: $ALG (esn $ESN); client 10.1.0.2 <-> server 10.2.0.2 through site <-> gw1"
}

status() {
	local g
	for g in site gw1; do
		say "$g: gwctl status"
		"$BIN/gwctl" -c "$LAB_DIR/$g.conf" status
		say "$g: gwctl sa list"
		"$BIN/gwctl" -c "$LAB_DIR/$g.conf" sa list
	done
	say "gw1: gwctl stats (non-zero)"
	"$BIN/gwctl" -c "$LAB_DIR/gw1.conf" stats | awk '$2 != 0'
}

traffic() {
	local secs=${1:-5}
	say "ping client -> server"
	n client ping -c 5 -i 0.2 10.2.0.2 | tail -2
	say "iperf3 TCP client -> server, ${secs}s"
	n server iperf3 -s -1 -D -I "$LAB_DIR/iperf3.pid"
	local i
	for ((i = 0; i < 100; i++)); do
		n server ss -Hltn 'sport = :5201' | grep -q . && break
		sleep 0.05
	done
	n client iperf3 -c 10.2.0.2 -t "$secs" | tail -4
}

down() {
	local f ns
	for f in "$LAB_DIR"/*.pid; do
		[[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null || true
	done
	for ns in "${NSS[@]}"; do
		if ip netns list | grep -q "^$P-$ns\b"; then
			ip netns pids "$P-$ns" | xargs -r kill 2>/dev/null || true
			ip netns del "$P-$ns"
		fi
	done
	rm -f /dev/shm/hagw-lab-*
	rm -rf "$LAB_DIR"
	echo "lab down"
}

demo() {
	trap down EXIT
	say "setting up the lab"
	up
	traffic 5
	status
	say "gw1: gwctl keys --wireshark (decrypt a capture of the WAN with these)"
	"$BIN/gwctl" -c "$LAB_DIR/gw1.conf" keys --wireshark
}

case ${1:-} in
up) up ;;
status) status ;;
traffic) traffic "${2:-5}" ;;
down) down ;;
demo) demo ;;
*) sed -n '2,16p' "$0" >&2; exit 1 ;;
esac
