#!/usr/bin/env bash
# syncd between two members, with a real data plane in front of the active.
#
#   site ns                  gw1 ns (ACTIVE)                gw2 ns (STANDBY)
#   10.1.0.1 (lo)            10.2.0.1 (lo)
#   gwd site ── wan veth ── gwd gw1 + syncd gw1 ── sync veth ── syncd gw2
#   192.168.50.2             192.168.50.1   10.9.0.1            10.9.0.2
#
# ping between 10.1.0.1 and 10.2.0.1 goes through ESP (a manual SA), so the
# active's counters move for real. Asserts: the standby gets every SA with
# identical keys within one interval; its counters trail by at most the
# packet threshold plus one scan; M matches the traffic; a restarted
# standby gets a snapshot (stale SAs swept) and comes back in sync; a peer
# with the wrong key is refused and learns nothing; cutting the sync link
# drops in_sync within the timeout and it comes back; roles swap.
set -e

BUILD=${BUILD:-build}
BIN=$(cd "$(dirname "$0")/.." && pwd)/$BUILD/bin
dir=$(mktemp -d /tmp/hagw-sync.XXXXXX)
site=hs-site-$$ gw1=hs-gw1-$$ gw2=hs-gw2-$$
pids=()

pretty() { echo -e "\x1b[32m\x1b[1m[+] ${1}:\x1b[0m ${2}"; }
n_site() { ip netns exec $site "$@"; }
n1() { ip netns exec $gw1 "$@"; }
n2() { ip netns exec $gw2 "$@"; }

cleanup() {
	local rc=$?
	set +e
	if ((rc)); then
		for f in "$dir"/*.log; do echo "== $f"; tail -n 15 "$f"; done
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	for ns in $site $gw1 $gw2; do ip netns del $ns 2>/dev/null; done
	for s in /dev/shm/hagw-s-*-$$; do [[ -e $s ]] && rm -f "$s"; done
	rm -rf "$dir"
}
trap cleanup EXIT

# bounded polling: wait_for TENTHS_OF_SECONDS command...
wait_for() {
	local n=$1
	shift
	while ((n-- > 0)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "timed out waiting for: $*" >&2
	return 1
}

jget() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2 | tr -d '"'; }
status1() { "$BIN/gwctl" -s /hagw-s-gw1-$$ --json status; }
status2() { "$BIN/gwctl" -s /hagw-s-gw2-$$ --json status; }
in_sync() { "$BIN/gwctl" -s "$1" --json status 2>/dev/null | grep -q '^{[^{]*"in_sync":true'; }
not_in_sync() { "$BIN/gwctl" -s "$1" --json status 2>/dev/null | grep -q '^{[^{]*"in_sync":false'; }
sa_field() { "$BIN/gwctl" -s "$1" --json sa show "$2" | jget "$3"; }
has_sa() { "$BIN/gwctl" -s "$1" sa show "$2" >/dev/null 2>&1; }
lacks_sa() { ! has_sa "$@"; }
ctr() { "$BIN/gwctl" -s "$1" --json stats | jget "$2"; }
child_count() { "$BIN/gwctl" -s "$1" --json status | jget child_sas; }

[[ -x $BIN/syncd && -x $BIN/gwd && -x $BIN/gwctl ]] || { echo "build first (make)"; exit 1; }

pretty setup "namespaces $site $gw1 $gw2"
for ns in $site $gw1 $gw2; do ip netns add $ns; ip -n $ns link set lo up; done
ip link add wan0 netns $site type veth peer name wan0 netns $gw1
ip link add sync0 netns $gw1 type veth peer name sync0 netns $gw2
ip -n $site addr add 192.168.50.2/24 dev wan0
ip -n $gw1 addr add 192.168.50.1/24 dev wan0
ip -n $gw1 addr add 10.9.0.1/24 dev sync0
ip -n $gw2 addr add 10.9.0.2/24 dev sync0
for l in "$site wan0" "$gw1 wan0" "$gw1 sync0" "$gw2 sync0"; do set -- $l; ip -n $1 link set $2 up; done
ip -n $site addr add 10.1.0.1/32 dev lo
ip -n $gw1 addr add 10.2.0.1/32 dev lo

hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
KA=$(hex 36) KB=$(hex 36) PSK=$(hex 32) WRONG=$(hex 32)
NSA=20 INTERVAL=100 THRESHOLD=64 SCAN=25

sync_section() { # local peer psk
	cat <<-EOT
	[sync]
	local = $1
	peer = $2
	port = 7800
	psk = $3
	interval_ms = $INTERVAL
	scan_ms = $SCAN
	packet_threshold = $THRESHOLD
	heartbeat_ms = 100
	timeout_ms = 500
	backoff_min_ms = 50
	backoff_max_ms = 400
	EOT
}

{
	cat <<-EOT
	[gateway]
	member_id = 1
	name = gw1
	tun = hagw1
	local = 192.168.50.1
	shm = /hagw-s-gw1-$$
	control = $dir/gw1.ctl
	standalone = yes

	[sa traffic]
	spi_in = 0x1001
	spi_out = 0x2001
	alg = aes256gcm16
	key_in = $KA
	key_out = $KB
	local_ts = 10.2.0.0/24
	remote_ts = 10.1.0.0/24
	peer = 192.168.50.2
	EOT
	for ((i = 0; i < NSA; i++)); do
		printf '\n[sa idle%d]\nspi_in = %d\nspi_out = %d\nalg = aes256gcm16\n' $i $((0x3000 + i)) $((0x4000 + i))
		printf 'key_in = %s\nkey_out = %s\nlocal_ts = 10.2.0.0/24\nremote_ts = 10.100.%d.0/24\npeer = 192.168.50.2\n' \
			"$(hex 36)" "$(hex 36)" $i
	done
	echo
	sync_section 10.9.0.1 10.9.0.2 $PSK
} >"$dir/gw1.conf"
{
	cat "$dir/gw1.conf"
	printf '\n[sa late]\nspi_in = 0x5001\nspi_out = 0x6001\nalg = aes256gcm16\n'
	printf 'key_in = %s\nkey_out = %s\nlocal_ts = 10.2.0.0/24\nremote_ts = 10.200.0.0/24\npeer = 192.168.50.2\n' \
		"$(hex 36)" "$(hex 36)"
} >"$dir/gw1-late.conf"

cat >"$dir/site.conf" <<EOT
[gateway]
member_id = 5
name = site
tun = hagws
local = 192.168.50.2
shm = /hagw-s-site-$$
control = $dir/site.ctl
standalone = yes

[sa traffic]
spi_in = 0x2001
spi_out = 0x1001
alg = aes256gcm16
key_in = $KB
key_out = $KA
local_ts = 10.1.0.0/24
remote_ts = 10.2.0.0/24
peer = 192.168.50.1
EOT
gw2_conf() { # psk shm
	printf '[gateway]\nmember_id = 2\nname = gw2\nshm = %s\ncontrol = %s/gw2.ctl\nstandalone = no\n\n' "$2" "$dir"
	sync_section 10.9.0.2 10.9.0.1 "$1"
}
gw2_conf $PSK /hagw-s-gw2-$$ >"$dir/gw2.conf"
gw2_conf $WRONG /hagw-s-wrong-$$ >"$dir/wrong.conf"
"$BIN/syncd" -n -c "$dir/gw1.conf" >/dev/null
"$BIN/syncd" -n -c "$dir/gw2.conf" >/dev/null

start() { # ns name args...: starts a daemon, its pid in $last
	local ns=$1 name=$2
	shift 2
	ip netns exec $ns "$@" >>"$dir/$name.log" 2>&1 &
	last=$!
	pids+=($last)
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

start $site gwd-site "$BIN/gwd" -c "$dir/site.conf"
start $gw1 gwd-gw1 "$BIN/gwd" -c "$dir/gw1.conf"; gwd1=$last
wait_for 50 has_sa /hagw-s-gw1-$$ 0x1001
start $gw1 syncd-gw1 "$BIN/syncd" -c "$dir/gw1.conf"; s1=$last
start $gw2 syncd-gw2 "$BIN/syncd" -c "$dir/gw2.conf"; s2=$last

pretty sync "snapshot: the standby holds every SA, keys identical"
wait_for 50 in_sync /hagw-s-gw2-$$
wait_for 20 in_sync /hagw-s-gw1-$$
(($(child_count /hagw-s-gw2-$$) == NSA + 1))
keys() { "$BIN/gwctl" -c "$1" keys --wireshark | cut -d, -f4,6 | sort; }
k1=$(keys "$dir/gw1.conf") k2=$(keys "$dir/gw2.conf")
[[ -n $k1 && $k1 == "$k2" ]]
(($(echo "$k2" | wc -l) == 2 * (NSA + 1)))   # one line per direction

pretty sync "an SA created on the active reaches the standby within one interval"
stop $gwd1
start $gw1 gwd-gw1 "$BIN/gwd" -c "$dir/gw1-late.conf"; gwd1=$last
wait_for 50 has_sa /hagw-s-gw2-$$ 0x5001
lag=$(status2 | jget add_lag_ms)
echo "    created on gw1 -> applied on gw2: ${lag} ms"
((lag <= INTERVAL))
[[ $(keys "$dir/gw1-late.conf") == "$(keys "$dir/gw2.conf")" ]]

pretty traffic "ping through ESP; the standby's counters trail the active's"
n_site ping -c 1 -W 2 -I 10.1.0.1 10.2.0.1 >/dev/null
n_site ping -q -i 0.002 -w 4 -I 10.1.0.1 10.2.0.1 >/dev/null 2>&1 &
ping_pid=$!
pids+=($ping_pid)
sleep 0.5
t0=$(date +%s%N) o0=$(sa_field /hagw-s-gw1-$$ 0x1001 out_seq)
# Each sample reads the standby first, then the active: the active's count
# also grew while we read (gap_us), which we add to the bound.
max_out=0 max_in=0 max_gap=0
for ((i = 0; i < 15; i++)); do
	g0=$(date +%s%N)
	b=$("$BIN/gwctl" -s /hagw-s-gw2-$$ --json sa show 0x1001)
	a=$("$BIN/gwctl" -s /hagw-s-gw1-$$ --json sa show 0x1001)
	g1=$(date +%s%N)
	b_out=$(jget out_seq <<<"$b") b_in=$(jget replay_top <<<"$b")
	a_out=$(jget out_seq <<<"$a") a_in=$(jget replay_top <<<"$a")
	((a_out - b_out > max_out)) && max_out=$((a_out - b_out))
	((a_in - b_in > max_in)) && max_in=$((a_in - b_in))
	(((g1 - g0) / 1000 > max_gap)) && max_gap=$(((g1 - g0) / 1000))
	((b_out <= a_out && b_in <= a_in))
	sleep 0.13
done
t1=$(date +%s%N) o1=$(sa_field /hagw-s-gw1-$$ 0x1001 out_seq)
rate=$(((o1 - o0) * 1000000000 / (t1 - t0)))
per_interval=$((rate * INTERVAL / 1000))
# one interval's traffic or the threshold, whichever is less, plus what
# moves in one scan (the granularity of the check) and while sampling
lim=$((per_interval < THRESHOLD ? per_interval : THRESHOLD))
bound=$((lim + rate * SCAN / 1000 + rate * max_gap / 1000000 + 2))
echo "    ${rate} packets/s (${per_interval} per interval); trail out ${max_out}, in ${max_in};" \
	"bound ${bound} (sampling took up to ${max_gap} us)"
((rate > 100))
((max_out <= bound && max_in <= bound))
m=$(sa_field /hagw-s-gw2-$$ 0x1001 m) m_in=$(sa_field /hagw-s-gw2-$$ 0x1001 m_in)
echo "    M on the standby: out ${m}, in ${m_in} per interval"
((m >= per_interval / 2 && m <= 3 * per_interval + THRESHOLD))
((m_in >= per_interval / 2 && m_in <= 3 * per_interval + THRESHOLD))
"$BIN/gwctl" -s /hagw-s-gw2-$$ sa show 0x1001 | grep -q 'S_0 [0-9]*  age [0-9]*ms  M [0-9]* per interval'
wait $ping_pid || true
[[ $(sa_field /hagw-s-gw1-$$ 0x1001 out_seq) == "$(sa_field /hagw-s-gw2-$$ 0x1001 out_seq)" ]] ||
	wait_for 10 eval '[[ $(sa_field /hagw-s-gw1-$$ 0x1001 out_seq) == "$(sa_field /hagw-s-gw2-$$ 0x1001 out_seq)" ]]'

pretty restart "standby syncd restarted: a new snapshot, stale SAs swept, in sync again"
stop $s2
wait_for 20 not_in_sync /hagw-s-gw1-$$
stop $gwd1
start $gw1 gwd-gw1 "$BIN/gwd" -c "$dir/gw1.conf"; gwd1=$last   # drops SA "late"
wait_for 50 lacks_sa /hagw-s-gw1-$$ 0x5001
has_sa /hagw-s-gw2-$$ 0x5001                                     # the standby missed it
bulks=$(status2 | jget bulks_rx)
start $gw2 syncd-gw2 "$BIN/syncd" -c "$dir/gw2.conf"; s2=$last
wait_for 50 in_sync /hagw-s-gw2-$$
lacks_sa /hagw-s-gw2-$$ 0x5001
(($(status2 | jget bulks_rx) == 1))     # a fresh syncd counts from zero
((bulks >= 1))
(($(child_count /hagw-s-gw2-$$) == NSA + 1))

pretty auth "a peer with the wrong key is refused and learns nothing"
stop $s2
r1=$(ctr /hagw-s-gw1-$$ sync_refused_auth)
start $gw2 syncd-wrong "$BIN/syncd" -c "$dir/wrong.conf"; sw=$last
wait_for 50 eval '(($(ctr /hagw-s-gw1-$$ sync_refused_auth) > r1))'
wait_for 20 eval '(($(ctr /hagw-s-wrong-$$ sync_refused_auth) > 0))'
(($(child_count /hagw-s-wrong-$$) == 0))
not_in_sync /hagw-s-wrong-$$
(($("$BIN/gwctl" -s /hagw-s-wrong-$$ --json status | jget msgs_rx) == 0))
not_in_sync /hagw-s-gw1-$$
stop $sw
start $gw2 syncd-gw2 "$BIN/syncd" -c "$dir/gw2.conf"; s2=$last
wait_for 50 in_sync /hagw-s-gw2-$$

pretty link "the sync link cut: in_sync drops within the timeout, and comes back"
n2 iptables -A INPUT -i sync0 -j DROP
n2 iptables -A OUTPUT -o sync0 -j DROP
t0=$(date +%s%N)
wait_for 30 not_in_sync /hagw-s-gw2-$$
t1=$(date +%s%N)
wait_for 30 not_in_sync /hagw-s-gw1-$$
echo "    in_sync dropped $(((t1 - t0) / 1000000)) ms after the cut (timeout 500 ms)"
(((t1 - t0) / 1000000 <= 500 + 300))
(($(ctr /hagw-s-gw2-$$ sync_link_timeout) >= 1))
n2 iptables -F
t0=$(date +%s%N)
wait_for 50 in_sync /hagw-s-gw2-$$
wait_for 20 in_sync /hagw-s-gw1-$$
echo "    back in sync $((($(date +%s%N) - t0) / 1000000)) ms after the link returned"

pretty roles "roles swap: the new active sends, the old one applies"
"$BIN/gwctl" -s /hagw-s-gw1-$$ role standby >/dev/null
"$BIN/gwctl" -s /hagw-s-gw2-$$ role active >/dev/null
wait_for 50 eval '(($(status1 | jget bulks_rx) >= 1))'
wait_for 30 in_sync /hagw-s-gw1-$$
(($(child_count /hagw-s-gw1-$$) == NSA + 1))
"$BIN/gwctl" -s /hagw-s-gw2-$$ role standby >/dev/null
"$BIN/gwctl" -s /hagw-s-gw1-$$ role active >/dev/null
wait_for 50 in_sync /hagw-s-gw2-$$

pretty drops "no malformed, auth or version drops on the good links"
for s in /hagw-s-gw1-$$ /hagw-s-gw2-$$; do
	for c in sync_drop_malformed sync_drop_auth sync_drop_version sync_drop_oversize; do
		(($(ctr $s $c) == 0))
	done
done
"$BIN/gwctl" -s /hagw-s-gw2-$$ status | grep '^sync'
echo "sync.sh: OK"
