#!/usr/bin/env bash
# The hagw HA lab: network namespaces on this machine, nothing leaves it.
#
#  client ── site (gwd standalone: the remote peer, anti-replay on)
#  10.1.0.2  10.1.0.1 / 192.168.240.2
#                │
#   ═══ WAN bridge 192.168.240.0/24 ═══════════  WAN VIP 192.168.240.1
#        │ .11                    │ .12
#   gw1 (prio 200) ── sync ── gw2 (prio 100)      10.9.0.1 <-> 10.9.0.2
#        │ 10.2.0.11              │ 10.2.0.12
#   ═══ LAN bridge 10.2.0.0/24 ════════════════  LAN VIP 10.2.0.1
#                │
#             server 10.2.0.2 (default route: the LAN VIP)
#
# usage: lab.sh up [STRATEGY] | status | traffic [SECONDS] | fail | down | demo
#   up:      the lab with [failover] strategy seed (default), global-rekey or none
#   traffic: three ping flows at different rates through two SAs (client -> server)
#   fail:    SIGKILL the active member's gwd, syncd and vrrp, then its links go down
#   demo:    up, traffic, fail, figures; the same with strategy none; down
#   ALG=aes256gcm16|chacha20poly1305 (default aes256gcm16)
#
# Namespaces are hagw-{client,site,sw,gw1,gw2,server}; state lives in
# $LAB_DIR (default /run/hagw-lab): configs, logs, PIDs. Explore with e.g.
# `ip netns exec hagw-gw1 bash` or `build/bin/gwctl -c /run/hagw-lab/gw2.conf failover last`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${BUILD:-build}/bin
LAB_DIR=${LAB_DIR:-/run/hagw-lab}
P=hagw
NSS=(client site sw gw1 gw2 server)
ALG=${ALG:-aes256gcm16}
WAN_VIP=192.168.240.1 LAN_VIP=10.2.0.1 SITE=192.168.240.2

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
n() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }
gwctl() { local g=$1; shift; "$BIN/gwctl" -c "$LAB_DIR/$g.conf" "$@"; }
randkey() { od -An -tx1 -N"${1:-36}" /dev/urandom | tr -d ' \n'; }
jfield() { python3 -c 'import json,sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"; }
vstate() { gwctl "$1" --json status 2>/dev/null | jfield vrrp.state 2>/dev/null || echo DOWN; }
alive() { [[ -f $LAB_DIR/vrrp-$1.pid ]] && kill -0 "$(cat "$LAB_DIR/vrrp-$1.pid")" 2>/dev/null; }
# the active member: the live one whose vrrp is MASTER (a killed member's
# table still says MASTER)
active() {
	local g
	for g in gw1 gw2; do alive $g && [[ $(vstate $g) == MASTER ]] && { echo $g; return; }; done
	echo none
}
wait_until() { # tenths what cmd...
	local t=$1 what=$2 i
	shift 2
	for ((i = 0; i < t; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "lab.sh: timed out waiting for $what; see $LAB_DIR/*.log" >&2
	return 1
}

sa_sect() { # name spi_in spi_out key_in key_out local remote peer
	printf '\n[sa %s]\nspi_in = %s\nspi_out = %s\nalg = %s\n' "$1" "$2" "$3" "$ALG"
	printf 'key_in = %s\nkey_out = %s\nlocal_ts = %s\nremote_ts = %s\npeer = %s\n' "$4" "$5" "$6" "$7" "$8"
}

write_confs() { # strategy
	local ka ki kb kj psk i
	ka=$(randkey) ki=$(randkey) kb=$(randkey) kj=$(randkey) psk=$(randkey 32)
	{
		printf '# site: written by examples/lab.sh\n[gateway]\nmember_id = 9\nname = lab-site\n'
		printf 'tun = hagw0\nlocal = %s\nshm = /hagw-lab-site\ncontrol = %s/site.ctl\n' $SITE "$LAB_DIR"
		printf 'standalone = yes\nanti_replay = yes\n'
		sa_sect a 0x2001 0x1001 "$ka" "$ki" 10.1.0.0/24 10.2.0.0/24 $WAN_VIP
		sa_sect b 0x2002 0x1002 "$kb" "$kj" 10.1.1.0/24 10.2.0.0/24 $WAN_VIP
	} >"$LAB_DIR/site.conf"
	for i in 1 2; do
		{
			printf '# gw%s: written by examples/lab.sh\n[gateway]\nmember_id = %s\nname = lab-gw%s\n' $i $i $i
			printf 'tun = hagw0\nlocal = %s\nshm = /hagw-lab-gw%s\ncontrol = %s/gw%s.ctl\n' $WAN_VIP $i "$LAB_DIR" $i
			printf 'standalone = no\nchild_capacity = 64\nike_capacity = 8\n'
			sa_sect a 0x1001 0x2001 "$ki" "$ka" 10.2.0.0/24 10.1.0.0/24 $SITE
			sa_sect b 0x1002 0x2002 "$kj" "$kb" 10.2.0.0/24 10.1.1.0/24 $SITE
			printf '\n[sync]\nlocal = 10.9.0.%s\npeer = 10.9.0.%s\npsk = %s\ninterval_ms = 100\n' $i $((3 - i)) "$psk"
			printf 'heartbeat_ms = 100\ntimeout_ms = 500\nbackoff_min_ms = 50\nbackoff_max_ms = 200\n'
			printf '\n[vrrp]\ninterface = wan0\nvrid = 51\npriority = %s\nadvert_interval = 1\n' $((i == 1 ? 200 : 100))
			printf 'vip = %s/24 dev wan0\nvip = %s/24 dev lan0\n' $WAN_VIP $LAN_VIP
			printf 'garp_count = 2\ngarp_interval = 20\nsource = 192.168.240.1%s\n' $i
			printf '\n[failover]\nstrategy = %s\n' "$1"
		} >"$LAB_DIR/gw$i.conf"
	done
}

swport() { # ns if bridge addr
	ip link add "$2" netns "$P-$1" type veth peer name "$1-$2" netns "$P-sw"
	n sw ip link set "$1-$2" master "$3" up
	n "$1" ip link set "$2" up
	n "$1" ip addr add "$4" dev "$2"
}

daemon() { # ns name cmd...: in the background, PID in $LAB_DIR/name.pid
	local ns=$1 name=$2
	shift 2
	ip netns exec "$P-$ns" "$@" >>"$LAB_DIR/$name.log" 2>&1 &
	echo $! >"$LAB_DIR/$name.pid"
	disown $!	# no "Killed" line from the shell when `fail` or `down` kills it
}

up() {
	local strategy=${1:-seed} ns i
	((EUID == 0)) || { echo "lab.sh: run as root (sudo make demo)" >&2; exit 1; }
	[[ -x $BIN/gwd ]] || { echo "lab.sh: build first (make)" >&2; exit 1; }
	if [[ ${PEER:-gwd} != gwd ]]; then
		echo "lab.sh: PEER=$PEER is not supported yet (IKE with the HA pair is not ready): gwd only" >&2
		exit 1
	fi
	if ip netns list | grep -q "^$P-"; then
		echo "lab.sh: a lab is already up; 'lab.sh down' first" >&2
		exit 1
	fi
	mkdir -p "$LAB_DIR"
	for ns in "${NSS[@]}"; do
		ip netns add "$P-$ns"
		n "$ns" ip link set lo up
	done
	n sw ip link add brW type bridge
	n sw ip link add brL type bridge
	n sw ip link set brW up
	n sw ip link set brL up
	ip link add lan0 netns $P-client type veth peer name lan0 netns $P-site
	n client ip link set lan0 up
	n site ip link set lan0 up
	n client ip addr add 10.1.0.2/24 dev lan0
	n client ip addr add 10.1.1.2/24 dev lan0
	n site ip addr add 10.1.0.1/24 dev lan0
	n site ip addr add 10.1.1.1/24 dev lan0
	n client ip route add default via 10.1.0.1
	swport site wan0 brW $SITE/24
	swport gw1 wan0 brW 192.168.240.11/24
	swport gw2 wan0 brW 192.168.240.12/24
	swport gw1 lan0 brL 10.2.0.11/24
	swport gw2 lan0 brL 10.2.0.12/24
	swport server lan0 brL 10.2.0.2/24
	n server ip route add default via $LAN_VIP
	ip link add sync0 netns $P-gw1 type veth peer name sync0 netns $P-gw2
	for i in 1 2; do
		n gw$i ip link set sync0 up
		n gw$i ip addr add 10.9.0.$i/24 dev sync0
	done
	for ns in site gw1 gw2; do n $ns sysctl -qw net.ipv4.ip_forward=1; done

	write_confs "$strategy"
	daemon site gwd-site "$BIN/gwd" -c "$LAB_DIR/site.conf"
	for i in 1 2; do daemon gw$i gwd-gw$i "$BIN/gwd" -c "$LAB_DIR/gw$i.conf"; done
	for i in 1 2; do wait_until 50 "gwd on gw$i" gwctl gw$i sa show 0x1001; done
	for i in 1 2; do daemon gw$i syncd-gw$i "$BIN/syncd" -c "$LAB_DIR/gw$i.conf"; done
	daemon gw1 vrrp-gw1 "$BIN/vrrp" -c "$LAB_DIR/gw1.conf"
	wait_until 50 "gw1 MASTER" eval '[[ $(vstate gw1) == MASTER ]]'
	daemon gw2 vrrp-gw2 "$BIN/vrrp" -c "$LAB_DIR/gw2.conf"
	wait_until 50 "gw2 BACKUP" eval '[[ $(vstate gw2) == BACKUP ]]'
	wait_until 100 "gw2 in sync" eval '[[ $(gwctl gw2 --json status | jfield in_sync) == True ]]'
	wait_until 100 "the tunnel (SA a)" n client ping -c 1 -W 0.3 -I 10.1.0.2 10.2.0.2
	wait_until 100 "the tunnel (SA b)" n client ping -c 1 -W 0.3 -I 10.1.1.2 10.2.0.2
	echo "lab up: strategy $strategy, $ALG; client 10.1.{0,1}.2 <-> site <-> VIP $WAN_VIP (gw1 MASTER, gw2 BACKUP) <-> server 10.2.0.2"
}

status() {
	local g
	for g in gw1 gw2; do
		say "$g: gwctl status$(alive $g || echo ' (killed: its table as it was left)')"
		gwctl $g status || true
	done
	say "$(active): gwctl sa list"
	[[ $(active) == none ]] || gwctl "$(active)" sa list
	say "site (the peer): drop_replay $(gwctl site --json stats | jfield drop_replay)"
}

# traffic [SECONDS]: three flows at different rates, through SAs a and b;
# flow 1 (500 packets/s) time-stamps its replies for the outage.
traffic_start() {
	local secs=${1:-5}
	rm -f "$LAB_DIR"/flow*.log
	daemon client flow1 ping -D -n -i 0.002 -w "$secs" -I 10.1.0.2 10.2.0.2
	daemon client flow2 ping -n -i 0.005 -s 1000 -w "$secs" -I 10.1.1.2 10.2.0.2
	daemon client flow3 ping -n -i 0.02 -s 200 -w "$secs" -I 10.1.0.2 10.2.0.2
}
traffic_wait() {
	local f p i
	for f in 1 2 3; do
		p=$(cat "$LAB_DIR/flow$f.pid")
		for ((i = 0; i < 300; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		rm -f "$LAB_DIR/flow$f.pid"
	done
}
traffic() {
	say "three ping flows (500, 200 and 50 packets/s) client -> server, ${1:-5}s"
	traffic_start "${1:-5}"
	traffic_wait
	local f
	for f in 1 2 3; do printf 'flow %s: %s\n' $f "$(grep 'packet loss' "$LAB_DIR/flow$f.log")"; done
}
outage_ms() {
	awk -F'[][]' '/bytes from/ { t = $2; if (p && t - p > m) m = t - p; p = t }
		END { printf "%d", m * 1000 }' "$LAB_DIR/flow1.log"
}

fail() {
	local g d pids=()
	g=$(active)
	[[ $g != none ]] || { echo "lab.sh: no active member" >&2; exit 1; }
	for d in gwd syncd vrrp; do pids+=("$(cat "$LAB_DIR/$d-$g.pid")"); done
	kill -9 "${pids[@]}"
	for d in wan0 lan0 sync0; do n $g ip link set $d down; done
	rm -f "$LAB_DIR"/{gwd,syncd,vrrp}-$g.pid
	echo "$g: gwd, syncd and vrrp killed (SIGKILL), its links down"
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

# run STRATEGY: one failover under load; sets OUTAGE and REJECTS
run() {
	say "strategy $1: the lab up, traffic for 4 s, the active killed after 1.5 s"
	up "$1"
	traffic_start 4
	sleep 1.5
	fail
	wait_until 50 "gw2 MASTER" eval '[[ $(vstate gw2) == MASTER ]]'
	traffic_wait
	OUTAGE=$(outage_ms)
	REJECTS=$(gwctl site --json stats | jfield drop_replay)
	say "strategy $1: gw2's promotion (gwctl failover last)"
	gwctl gw2 failover last
	say "strategy $1: outage $OUTAGE ms (longest gap in flow 1's replies); the peer's replay rejections: $REJECTS"
	down >/dev/null
}

demo() {
	trap down EXIT
	local o1 r1
	run seed
	o1=$OUTAGE r1=$REJECTS
	run none
	say "summary: SIGKILL of the active under three flows"
	printf '%-10s %10s %26s\n' strategy outage "replay rejections at peer"
	printf '%-10s %7s ms %26s\n' seed "$o1" "$r1" none "$OUTAGE" "$REJECTS"
	trap - EXIT
}

case ${1:-} in
up) up "${2:-seed}" ;;
status) status ;;
traffic) traffic "${2:-5}" ;;
fail) fail ;;
down) down ;;
demo) demo ;;
*) sed -n '2,25p' "$0" >&2; exit 1 ;;
esac
