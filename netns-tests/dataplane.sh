#!/usr/bin/env bash
# The ESP data plane between two gateways with manually keyed SAs.
#
#   client ----- gwa ===== ESP-in-UDP 4500 ===== gwb ----- server
#  10.1.0.2   10.1.0.1                         10.2.0.1   10.2.0.2
#             192.168.241.1 --- veth --- 192.168.241.2
#
# For each algorithm (and ESN): ping and TCP both ways. Then, on the wire:
# a captured ESP packet sent again counts as drop_replay at the receiver,
# a flipped byte as drop_auth; an SA started near 2^32 crosses the rekey
# threshold and then blocks, and every counter says so.
source "$(dirname "$0")/lib.sh"
require_root

ns client gwa gwb server
link client c0 gwa a0
link gwa a1 gwb b1
link gwb b0 server s0
addr client c0 10.1.0.2/24
addr gwa a0 10.1.0.1/24
addr gwa a1 192.168.241.1/24
addr gwb b1 192.168.241.2/24
addr gwb b0 10.2.0.1/24
addr server s0 10.2.0.2/24
n client ip route add default via 10.1.0.1
n server ip route add default via 10.2.0.1
for g in gwa gwb; do n $g sysctl -qw net.ipv4.ip_forward=1; done

SHMS+=("/$TEST_ID-a" "/$TEST_ID-b")
KA=$(randkey)
KB=$(randkey)

# conf SIDE ALG ESN [INITIAL_SEQ]
conf() {
	local side=$1 alg=$2 esn=$3 init=${4:-0}
	if [[ $side == a ]]; then
		set -- 1 192.168.241.1 0x2001 0x1001 "$KB" "$KA" 10.1.0.0/24 10.2.0.0/24 192.168.241.2
	else
		set -- 2 192.168.241.2 0x1001 0x2001 "$KA" "$KB" 10.2.0.0/24 10.1.0.0/24 192.168.241.1
	fi
	cat >"$TEST_TMP/$side.conf" <<EOC
[gateway]
member_id = $1
name = $TEST_ID-$side
tun = hg$side
local = $2
shm = /$TEST_ID-$side
control = $TEST_TMP/$side.ctl

[sa tunnel]
spi_in = $3
spi_out = $4
alg = $alg
esn = $esn
key_in = $5
key_out = $6
local_ts = $7
remote_ts = $8
peer = $9
initial_seq = $init
EOC
}

gw_up() { # ALG ESN [INITIAL_SEQ for a]
	conf a "$1" "$2" "${3:-0}"
	conf b "$1" "$2"
	start gwa gwa "$BIN/gwd" -c "$TEST_TMP/a.conf"
	start gwb gwb "$BIN/gwd" -c "$TEST_TMP/b.conf"
	wait_for 5 "gwa's tunnel route" n gwa ip route get 10.2.0.2 oif hga
	wait_for 5 "gwb's tunnel route" n gwb ip route get 10.1.0.2 oif hgb
}

gw_down() { stop gwa; stop gwb; }

A=$TEST_TMP/a.conf
B=$TEST_TMP/b.conf

for variant in "aes256gcm16 no" "chacha20poly1305 no" "aes256gcm16 yes" "chacha20poly1305 yes"; do
	set -- $variant
	pretty "$1 esn=$2" "ping and TCP both ways"
	gw_up "$1" "$2"
	wait_for 5 "a first ping through the tunnel" n client ping -c 1 -W 1 10.2.0.2
	n client ping -c 5 -i 0.05 -W 1 10.2.0.2 >/dev/null
	n server ping -c 5 -i 0.05 -W 1 10.1.0.2 >/dev/null
	start iperf server iperf3 -s -1 -p 5201
	wait_for 5 "iperf3 server" listening server 5201
	n client iperf3 -c 10.2.0.2 -p 5201 -t 1 -J >"$TEST_TMP/up.json"
	start iperf server iperf3 -s -1 -p 5201
	wait_for 5 "iperf3 server" listening server 5201
	n client iperf3 -c 10.2.0.2 -p 5201 -t 1 -R -J >"$TEST_TMP/down.json"
	for d in up down; do
		bytes=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]))' "$TEST_TMP/$d.json")
		pretty "$1 esn=$2" "TCP $d: $bytes bytes"
		((bytes > 1000000))
	done
	# nothing was dropped on the way, and the SAs agree on what passed
	for c in drop_replay drop_auth drop_malformed drop_selector drop_no_sa drop_queue_full drop_truncated; do
		[[ $(ctr "$A" $c) == 0 && $(ctr "$B" $c) == 0 ]] || die "$c moved"
	done
	[[ $(sa_field "$A" 0x2001 tx_packets) == $(sa_field "$B" 0x1001 rx_packets) ]]
	[[ $(sa_field "$A" 0x2001 esn) == $([[ $2 == yes ]] && echo True || echo False) ]]
	gw_down
done

pretty replay "a captured ESP packet sent again is dropped as a replay"
gw_up aes256gcm16 no
wait_for 5 "a first ping through the tunnel" n client ping -c 1 -W 1 10.2.0.2
start cap gwb tcpdump --immediate-mode -Z root -n -U -i b1 -w "$TEST_TMP/esp.pcap" udp dst port 4500 and src host 192.168.241.1
wait_for 5 "tcpdump" grep -q "listening on" "$TEST_TMP/cap.log"
n client ping -c 5 -i 0.05 -W 1 10.2.0.2 >/dev/null
stop cap INT
rx=$(ctr "$B" rx_packets)
before=$(ctr "$B" drop_replay)
sent=$(n gwa python3 "$ROOT/netns-tests/tools/udp-resend.py" "$TEST_TMP/esp.pcap" 192.168.241.2 4500)
((sent >= 5))
wait_for 5 "drop_replay to count $sent" test "$(ctr "$B" drop_replay)" -eq $((before + sent))
[[ $(ctr "$B" rx_packets) == "$rx" ]]
[[ $(sa_field "$B" 0x1001 drop_replay) == "$sent" ]]

pretty forgery "a flipped byte fails the ICV and leaves the window alone"
# Hold one packet back from gwd: gwb's firewall drops it after tcpdump saw
# it, so its number is above the window top and passes the pre-check.
before=$(ctr "$B" drop_auth)
rm -f "$TEST_TMP/cap.log"
start cap gwb tcpdump --immediate-mode -Z root -n -U -i b1 -w "$TEST_TMP/esp4.pcap" udp dst port 4500 and src host 192.168.241.1
wait_for 5 "tcpdump" grep -q "listening on" "$TEST_TMP/cap.log"
n gwb iptables -A INPUT -p udp --dport 4500 -j DROP
n client ping -c 1 -W 0.5 10.2.0.2 >/dev/null || true
n gwb iptables -D INPUT -p udp --dport 4500 -j DROP
stop cap INT
top=$(sa_field "$B" 0x1001 replay_top)
sent=$(n gwa python3 "$ROOT/netns-tests/tools/udp-resend.py" "$TEST_TMP/esp4.pcap" 192.168.241.2 4500 --flip 40 --count 1)
((sent == 1))
wait_for 5 "drop_auth" test "$(ctr "$B" drop_auth)" -eq $((before + 1))
[[ $(sa_field "$B" 0x1001 replay_top) == "$top" ]]
# the genuine packet is still accepted afterwards: the window did not move
rx=$(ctr "$B" rx_packets)
sent=$(n gwa python3 "$ROOT/netns-tests/tools/udp-resend.py" "$TEST_TMP/esp4.pcap" 192.168.241.2 4500 --count 1)
wait_for 5 "the genuine packet" test "$(ctr "$B" rx_packets)" -eq $((rx + 1))
"$BIN/gwctl" -c "$B" --json stats | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["drop_auth"] >= 1 and d["drop_replay"] >= 5'
gw_down

pretty ceiling "an SA started 6 below 2^32 crosses the threshold, then blocks"
gw_up chacha20poly1305 no 4294967290
n client ping -c 10 -i 0.05 -W 0.3 10.2.0.2 >/dev/null || true
[[ $(sa_field "$A" 0x2001 out_seq) == 4294967295 ]]
[[ $(sa_field "$B" 0x1001 rx_packets) == 5 ]]
[[ $(ctr "$A" sn_threshold_crossings) == 1 ]]
[[ $(ctr "$A" sn_blocked) == 1 ]]
(($(ctr "$A" drop_blocked) >= 5))
[[ $(sa_field "$A" 0x2001 flags) == *blocked* ]]
[[ $(sa_field "$A" 0x2001 flags) == *rekey-needed* ]]
grep -q "cannot be rekeyed" "$TEST_TMP/gwa.log"
# gwctl's other read commands answer, in both forms
"$BIN/gwctl" -c "$A" status | grep -q "role *ACTIVE"
"$BIN/gwctl" -c "$A" --json status | python3 -c 'import json,sys; assert json.load(sys.stdin)["gwd"]["running"]'
"$BIN/gwctl" -c "$A" --json sa list | python3 -c 'import json,sys; assert len(json.load(sys.stdin)) == 1'
"$BIN/gwctl" -c "$A" keys --wireshark 2>&1 | grep -q "ChaCha20-Poly1305 SAs left out"
gw_down
pretty dataplane "all passed"
