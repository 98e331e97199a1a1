#!/usr/bin/env bash
# bench/dataplane.sh: TCP throughput through two tunnel gateways, for gwd and
# its peers, in one run on the same machine (root).
#
#   client ns ─── gwA ns ══════ outer veth ══════ gwB ns ─── server ns
#   10.1.0.2      10.1.0.1      192.168.50.1  192.168.50.2  10.2.0.1      10.2.0.2
#                 └─ tunnel endpoint ────────────────────── tunnel endpoint ─┘
#
# For each data plane a fresh topology is built, the two gateways are started,
# the tunnel is polled until a ping passes, then iperf3 runs TCP from client
# to server for $BENCH_TIME seconds (default 10). The data planes:
#   veth          no tunnel: plain IPv4 forwarding by the gateways (the ceiling)
#   gwd           build/bin/gwd, manually keyed ESP-in-UDP: AES-GCM and ChaCha20
#   wireguard-go  Debian's userspace WireGuard over TUN (no kernel module here)
#   strongswan    charon-systemd with kernel-libipsec (userspace ESP over TUN),
#                 IKEv2 PSK, encap=yes, aes256gcm16-noesn
# The CPU columns are the gateways' process time during the transfer, in % of
# one core (the kernel forwarding of "veth" shows no process).
# A data plane that cannot be brought up reports 0 and a reason line.
#
# Environment: BUILD (default build), BENCH_TIME (seconds, default 10),
# BENCH_ONLY (space-separated subset: "veth gwd-aes gwd-chacha wireguard-go
# strongswan"; also "gwd-aes-nooffload": gwd with udp_offload and
# tun_offload off), BENCH_GWD_CONF (extra [gateway] lines for every gwd,
# "\n"-separated), BENCH_IPERF_ARGS (more iperf3 client options, e.g. "-R"
# or "-P 4"), BENCH_PERF=DIR (perf record -g on each gwd for 5 s during
# each gwd run, written to DIR/perf-gwd-<alg>-<a|b>.data).
# Last line: `dataplane: gwd=N strongswan=N wireguard-go=N veth=N` (Mbit/s,
# gwd is the AES-GCM figure). Exit status 1 if gwd could not be measured.
set -uo pipefail

BUILD=${BUILD:-build}
DURATION=${BENCH_TIME:-10}
ONLY=${BENCH_ONLY:-veth gwd-aes gwd-chacha wireguard-go strongswan}
GWD=$(realpath -m "$BUILD/bin/gwd")
GWCTL=$(realpath -m "$BUILD/bin/gwctl")

((EUID == 0)) || { echo "dataplane: must run as root" >&2; exit 1; }
for tool in ip iperf3 jq ping; do
	command -v "$tool" >/dev/null || { echo "dataplane: $tool missing (make deps)" >&2; exit 1; }
done

tag=hb$$
ns_c=$tag-cli ns_a=$tag-gwa ns_b=$tag-gwb ns_s=$tag-srv
dir=$(mktemp -d /tmp/hagw-bench.XXXXXX)
shm=/hagw-bench-$$
pids=()
hz=$(getconf CLK_TCK)

# Foreground commands only: a daemon is started with `ip netns exec` itself,
# which execs it, so that $! is the daemon's PID and not a subshell's.
n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

kill_pids() {
	local p i
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		# bounded: 3 s, then SIGKILL
		for ((i = 0; i < 30; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
}

topo_down() {
	local ns p
	kill_pids
	# Anything still inside our namespaces was started by us (a child of a
	# daemon): end it by PID too, or the namespace outlives its deletion.
	for ns in "$ns_c" "$ns_a" "$ns_b" "$ns_s"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
	done
	kill_pids
	for ns in "$ns_c" "$ns_a" "$ns_b" "$ns_s"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -f /dev/shm"$shm"-* /var/run/wireguard/"$tag"*.sock
}

cleanup() {
	topo_down
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

topo_up() {
	local ns
	for ns in "$ns_c" "$ns_a" "$ns_b" "$ns_s"; do
		ip netns add "$ns" || return 1
		n "$ns" ip link set lo up
	done
	ip link add c0 netns "$ns_c" type veth peer name in0 netns "$ns_a" || return 1
	ip link add out0 netns "$ns_a" type veth peer name out0 netns "$ns_b" || return 1
	ip link add s0 netns "$ns_s" type veth peer name in0 netns "$ns_b" || return 1
	n "$ns_c" ip addr add 10.1.0.2/24 dev c0
	n "$ns_a" ip addr add 10.1.0.1/24 dev in0
	n "$ns_a" ip addr add 192.168.50.1/24 dev out0
	n "$ns_b" ip addr add 192.168.50.2/24 dev out0
	n "$ns_b" ip addr add 10.2.0.1/24 dev in0
	n "$ns_s" ip addr add 10.2.0.2/24 dev s0
	n "$ns_c" ip link set c0 up
	n "$ns_a" ip link set in0 up
	n "$ns_a" ip link set out0 up
	n "$ns_b" ip link set out0 up
	n "$ns_b" ip link set in0 up
	n "$ns_s" ip link set s0 up
	n "$ns_c" ip route add default via 10.1.0.1
	n "$ns_s" ip route add default via 10.2.0.1
	n "$ns_a" sysctl -qw net.ipv4.ip_forward=1
	n "$ns_b" sysctl -qw net.ipv4.ip_forward=1
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

alive() {
	local p
	for p in "$@"; do kill -0 "$p" 2>/dev/null || return 1; done
}

wait_ping() {
	local i
	for ((i = 0; i < ${1:-15}; i++)); do
		n "$ns_c" ping -q -c1 -W1 10.2.0.2 >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# Process CPU time in clock ticks (utime + stime).
cpu_ticks() {
	local p=$1 stat
	stat=$(cat "/proc/$p/stat" 2>/dev/null) || { echo 0; return; }
	stat=${stat##*) }
	set -- $stat
	echo $((${12} + ${13}))
}

# Result of the current data plane, filled by run_iperf or fail.
r_mbit=0 r_retr=- r_cpu_a=- r_cpu_b=- r_why=

fail() {
	r_mbit=0 r_retr=- r_cpu_a=- r_cpu_b=- r_why=$1
	return 1
}

# run_iperf [PID_A PID_B]: TCP client -> server through the gateways.
run_iperf() {
	local pa=${1:-} pb=${2:-} ta0 tb0 ta1 tb1 t0 t1 out srv err perf_pid=
	ip netns exec "$ns_s" iperf3 -s -1 -B 10.2.0.2 >"$dir/iperf-server.log" 2>&1 &
	srv=$!
	pids+=("$srv")
	wait_for 5 n "$ns_s" bash -c "ss -Hltn 'sport = :5201' | grep -q ." ||
		{ fail "iperf3 server did not listen"; return 1; }
	if [[ $pa ]]; then ta0=$(cpu_ticks "$pa"); tb0=$(cpu_ticks "$pb"); fi
	if [[ ${BENCH_PERF:-} && ${perf_name:-} && $pa ]]; then
		mkdir -p "$BENCH_PERF"
		(sleep 3; exec perf record -q -g -p "$pa" -o "$BENCH_PERF/perf-$perf_name-a.data" -- sleep 5) \
			>/dev/null 2>&1 &
		perf_pid=$!
		pids+=("$perf_pid")
		(sleep 3; exec perf record -q -g -p "$pb" -o "$BENCH_PERF/perf-$perf_name-b.data" -- sleep 5) \
			>/dev/null 2>&1 &
		perf_pid="$perf_pid $!"
		pids+=("$!")
	fi
	t0=$(date +%s%N)
	out=$(timeout $((DURATION + 20)) ip netns exec "$ns_c" \
		iperf3 -c 10.2.0.2 -t "$DURATION" ${BENCH_IPERF_ARGS:-} -J 2>&1)
	t1=$(date +%s%N)
	if [[ $pa ]]; then ta1=$(cpu_ticks "$pa"); tb1=$(cpu_ticks "$pb"); fi
	[[ $perf_pid ]] && wait $perf_pid 2>/dev/null
	wait "$srv" 2>/dev/null
	err=$(jq -r '.error // empty' <<<"$out" 2>/dev/null)
	if [[ $err ]] || ! jq -e '.end.sum_received.bits_per_second' <<<"$out" >/dev/null 2>&1; then
		fail "iperf3: ${err:-no result: ${out:0:200}}"
		return 1
	fi
	r_mbit=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' <<<"$out")
	r_retr=$(jq -r '.end.sum_sent.retransmits // "-"' <<<"$out")
	if [[ $pa ]]; then
		local ms=$(((t1 - t0) / 1000000))
		r_cpu_a=$(((ta1 - ta0) * 100000 / hz / ms))
		r_cpu_b=$(((tb1 - tb0) * 100000 / hz / ms))
	fi
	r_why=
	return 0
}

# --- veth: no tunnel, the gateways just route ---
bench_veth() {
	n "$ns_a" ip route add 10.2.0.0/24 via 192.168.50.2
	n "$ns_b" ip route add 10.1.0.0/24 via 192.168.50.1
	wait_ping || { fail "no ping over the bare path"; return 1; }
	run_iperf
}

# --- gwd ---
hexkey() { od -An -tx1 -N36 /dev/urandom | tr -d ' \n'; }

gwd_conf() { # side id local peer local_ts remote_ts spi_in spi_out key_in key_out alg
	cat >"$dir/gwd-$1.conf" <<-EOF
	[gateway]
	udp_offload = $gwd_offload
	tun_offload = $gwd_offload
	$(printf '%b' "${BENCH_GWD_CONF:-}")
	member_id = $2
	name = bench-$1
	tun = ${tag}g$1
	local = $3
	shm = $shm-$1
	control = $dir/gwd-$1.ctl

	[sa t1]
	spi_in = $7
	spi_out = $8
	alg = ${11}
	key_in = $9
	key_out = ${10}
	local_ts = $5
	remote_ts = $6
	peer = $4
	EOF
}

# One line of a gateway's counters after its run: packets, syscalls, and
# every drop counter that moved.
gwd_stats() { # label ns conf
	local js
	js=$(n "$2" "$GWCTL" -c "$3" --json stats 2>/dev/null) || return 0
	jq -r --arg gw "$1" '"    gwd \($gw): tx \(.tx_packets) pkts in \(.udp_sends) sendmmsg (\(.udp_gso_msgs // 0) GSO msgs), " +
		"rx \(.rx_packets) pkts in \(.udp_reads) recvmmsg (\(.udp_gro_msgs // 0) GRO msgs); TUN: \(.tun_tso_reads // 0) TSO reads, " +
		"\(.tun_gro_writes // 0) GRO writes; drops: " +
		([to_entries[] | select((.key | startswith("drop_")) and .value > 0) | "\(.key)=\(.value)"] | join(" ") |
		 if . == "" then "none" else . end)' <<<"$js"
}

bench_gwd() { # alg [udp_offload]
	local alg=$1 gwd_offload=${2:-yes} k1 k2 pa pb
	[[ -x $GWD ]] || { fail "$GWD not built (make)"; return 1; }
	k1=$(hexkey) k2=$(hexkey)
	gwd_conf a 1 192.168.50.1 192.168.50.2 10.1.0.0/24 10.2.0.0/24 0x2001 0x1001 "$k2" "$k1" "$alg"
	gwd_conf b 2 192.168.50.2 192.168.50.1 10.2.0.0/24 10.1.0.0/24 0x1001 0x2001 "$k1" "$k2" "$alg"
	ip netns exec "$ns_a" "$GWD" -c "$dir/gwd-a.conf" >"$dir/gwd-a.log" 2>&1 &
	pa=$!
	pids+=("$pa")
	ip netns exec "$ns_b" "$GWD" -c "$dir/gwd-b.conf" >"$dir/gwd-b.log" 2>&1 &
	pb=$!
	pids+=("$pb")
	wait_ping || { fail "gwd: no ping through the tunnel ($(tail -n1 "$dir/gwd-a.log"))"; return 1; }
	alive "$pa" "$pb" || { fail "gwd exited"; return 1; }
	perf_name=gwd-$alg-$gwd_offload run_iperf "$pa" "$pb"
	gwd_stats A "$ns_a" "$dir/gwd-a.conf"
	gwd_stats B "$ns_b" "$dir/gwd-b.conf"
}

# --- wireguard-go ---
bench_wireguard_go() {
	local ifa=${tag}wa ifb=${tag}wb pa pb ka kb pub_a pub_b
	command -v wireguard-go >/dev/null || { fail "wireguard-go not installed"; return 1; }
	command -v wg >/dev/null || { fail "wg (wireguard-tools) not installed"; return 1; }
	ka=$dir/wg-a.key kb=$dir/wg-b.key
	(umask 077; wg genkey >"$ka"; wg genkey >"$kb")
	pub_a=$(wg pubkey <"$ka") pub_b=$(wg pubkey <"$kb")
	# -f: foreground, so it has a PID of ours; the variable makes it run on
	# a kernel that may also have the module.
	ip netns exec "$ns_a" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$ifa" \
		>"$dir/wg-a.log" 2>&1 &
	pa=$!
	pids+=("$pa")
	ip netns exec "$ns_b" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$ifb" \
		>"$dir/wg-b.log" 2>&1 &
	pb=$!
	pids+=("$pb")
	wait_for 10 test -S "/var/run/wireguard/$ifa.sock" -a -S "/var/run/wireguard/$ifb.sock" ||
		{ fail "wireguard-go: no UAPI socket ($(tail -n1 "$dir/wg-a.log"))"; return 1; }
	n "$ns_a" wg set "$ifa" listen-port 51820 private-key "$ka" \
		peer "$pub_b" allowed-ips 10.2.0.0/24 endpoint 192.168.50.2:51820 ||
		{ fail "wg set on A failed"; return 1; }
	n "$ns_b" wg set "$ifb" listen-port 51820 private-key "$kb" \
		peer "$pub_a" allowed-ips 10.1.0.0/24 endpoint 192.168.50.1:51820 ||
		{ fail "wg set on B failed"; return 1; }
	n "$ns_a" ip link set "$ifa" up
	n "$ns_b" ip link set "$ifb" up
	n "$ns_a" ip route add 10.2.0.0/24 dev "$ifa"
	n "$ns_b" ip route add 10.1.0.0/24 dev "$ifb"
	wait_ping || { fail "wireguard-go: no ping through the tunnel"; return 1; }
	run_iperf "$pa" "$pb"
}

# --- strongSwan, kernel-libipsec ---
swan_conf() { # side local remote local_ts remote_ts id remote_id psk
	local d=$dir/swan-$1
	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<-EOF
	charon-systemd {
	    load_modular = no
	    load = random nonce openssl aes sha1 sha2 hmac gcm chapoly curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici updown
	    plugins {
	        vici {
	            socket = unix://$d/charon.vici
	        }
	    }
	    filelog {
	        log {
	            path = $d/charon.log
	            default = 1
	        }
	    }
	    journal {
	        default = -1
	    }
	}
	swanctl {
	    load = pem pkcs1 x509 pubkey
	}
	EOF
	cat >"$d/swanctl.conf" <<-EOF
	connections {
	    bench {
	        local_addrs = $2
	        remote_addrs = $3
	        encap = yes
	        proposals = aes256gcm16-prfsha256-x25519
	        local {
	            auth = psk
	            id = $6
	        }
	        remote {
	            auth = psk
	            id = $7
	        }
	        children {
	            net {
	                local_ts = $4
	                remote_ts = $5
	                esp_proposals = aes256gcm16-noesn
	            }
	        }
	    }
	}
	secrets {
	    ike-bench {
	        id-a = $6
	        id-b = $7
	        secret = "$8"
	    }
	}
	EOF
}

swan() { # side ns swanctl-args... (bounded: 20 s)
	local d=$dir/swan-$1 ns=$2
	shift 2
	timeout 20 ip netns exec "$ns" env STRONGSWAN_CONF="$d/strongswan.conf" \
		swanctl "$@" --uri "unix://$d/charon.vici"
}

bench_strongswan() {
	local psk pa pb side ns
	command -v charon-systemd >/dev/null || { fail "charon-systemd not installed"; return 1; }
	command -v swanctl >/dev/null || { fail "swanctl not installed"; return 1; }
	psk=$(hexkey)
	swan_conf a 192.168.50.1 192.168.50.2 10.1.0.0/24 10.2.0.0/24 gwa gwb "$psk"
	swan_conf b 192.168.50.2 192.168.50.1 10.2.0.0/24 10.1.0.0/24 gwb gwa "$psk"
	ip netns exec "$ns_a" env STRONGSWAN_CONF="$dir/swan-a/strongswan.conf" charon-systemd >/dev/null 2>&1 &
	pa=$!
	pids+=("$pa")
	ip netns exec "$ns_b" env STRONGSWAN_CONF="$dir/swan-b/strongswan.conf" charon-systemd >/dev/null 2>&1 &
	pb=$!
	pids+=("$pb")
	for side in a b; do
		wait_for 10 test -S "$dir/swan-$side/charon.vici" ||
			{ fail "strongswan: charon $side has no vici socket"; return 1; }
	done
	for side in a b; do
		[[ $side == a ]] && ns=$ns_a || ns=$ns_b
		swan "$side" "$ns" --load-all --file "$dir/swan-$side/swanctl.conf" >>"$dir/swan-$side/swanctl.log" 2>&1 ||
			{ fail "strongswan: swanctl --load-all failed on $side"; return 1; }
	done
	swan a "$ns_a" --initiate --child net >>"$dir/swan-a/swanctl.log" 2>&1 ||
		{ fail "strongswan: CHILD_SA not established ($(grep -m1 -i 'fail\|error' "$dir/swan-a/charon.log"))"; return 1; }
	wait_ping || { fail "strongswan: no ping through the tunnel"; return 1; }
	run_iperf "$pa" "$pb"
}

# --- main ---
declare -A mbit
rows=()

row() { # label
	printf -v line '%-28s %10s %8s %9s %9s  %s' "$1" "$r_mbit" "$r_retr" "$r_cpu_a" "$r_cpu_b" "$r_why"
	rows+=("$line")
}

run_one() { # key label func args...
	local key=$1 label=$2
	shift 2
	r_mbit=0 r_retr=- r_cpu_a=- r_cpu_b=- r_why=
	if ! topo_up; then
		fail "cannot build the topology"
	else
		"$@"
	fi
	topo_down
	mbit[$key]=$r_mbit
	row "$label"
	if [[ $r_why ]]; then
		echo "  $label: 0 Mbit/s: $r_why"
	else
		echo "  $label: $r_mbit Mbit/s"
	fi
}

want() { [[ " $ONLY " == *" $1 "* ]]; }

# Other work on the machine skews the figures: show the load with them.
echo "dataplane: iperf3 TCP ${DURATION} s client -> server, $(nproc) CPUs, $(uname -r)," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
want veth && run_one veth "veth (no tunnel, ceiling)" bench_veth
want gwd-aes && run_one gwd "gwd aes256gcm16" bench_gwd aes256gcm16
want gwd-aes-nooffload && run_one gwd-nooffload "gwd aes256gcm16 no offloads" bench_gwd aes256gcm16 no
want gwd-chacha && run_one gwd-chacha "gwd chacha20poly1305" bench_gwd chacha20poly1305
want wireguard-go && run_one wireguard-go "wireguard-go $(wireguard-go --version 2>/dev/null | awk 'NR==1{print $2}')" bench_wireguard_go
want strongswan && run_one strongswan "strongswan aes256gcm16" bench_strongswan

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %10s %8s %9s %9s  %s\n' "data plane" "Mbit/s" "retr" "cpu A %" "cpu B %" "note"
for line in "${rows[@]}"; do echo "$line"; done
echo "dataplane: gwd=${mbit[gwd]:-0} strongswan=${mbit[strongswan]:-0} wireguard-go=${mbit[wireguard-go]:-0} veth=${mbit[veth]:-0}"
# A peer that could not run is reported above; gwd itself failing is an error.
[[ ${mbit[gwd]:-x} != 0 && ${mbit[gwd-chacha]:-x} != 0 ]]
