#!/usr/bin/env bash
# gwd against gwd over IKEv2: the same exchanges as against strongSwan,
# plus ESN (which strongSwan's kernel-libipsec lacks) and PFS rekeys.
#
#   10.1.0.1 (lo)                                10.2.0.1 (lo)
#   ┌──────────── a$$ ────────────┐   ┌──────────── b$$ ────────────┐
#   │ gwd  TUN hagw0  wan .78.1   ├───┤ wan .78.2  TUN hagw0  gwd   │
#   └─────────────────────────────┘   └─────────────────────────────┘
#          a initiates; IKE 500 -> 4500, ESP in UDP 4500
#
# For each suite (AES-GCM-16-256 with ESN, ChaCha20-Poly1305 with ESN and
# PFS): tunnel up, pings both ways, a Child SA rekey by each side under a
# ping flood with nothing lost and no replay or ICV drop at either gwd, an
# IKE SA rekey by each side, a restart of one gwd that takes its SAs over
# from the shm table, a Delete, and the re-initiation that follows.
set -e

BUILD=${BUILD:-build}
BIN=$(cd "$(dirname "$0")/.." && pwd)/$BUILD/bin
[[ -x $BIN/gwd && -x $BIN/gwctl ]]

dir=$(mktemp -d /tmp/ike-gwd.XXXXXX)
na=a$$ nb=b$$
pids=()

pretty() { echo -e "\x1b[32m\x1b[1m[+] $1:\x1b[0m $2"; }
na() { ip netns exec $na "$@"; }
nb() { ip netns exec $nb "$@"; }

cleanup() {
	local rc=$?
	set +e
	if ((rc)); then
		echo "== failed (rc $rc); last lines of the gwd logs:"
		tail -n 20 "$dir/a.log" "$dir/b.log"
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del $na 2>/dev/null
	ip netns del $nb 2>/dev/null
	rm -f /dev/shm/hagw-ikea$$ /dev/shm/hagw-ikeb$$
	rm -rf "$dir"
}
trap cleanup EXIT

ip netns add $na
ip netns add $nb
ip link add wan-a netns $na type veth peer name wan-b netns $nb
na ip addr add 192.168.78.1/24 dev wan-a
nb ip addr add 192.168.78.2/24 dev wan-b
for n in $na $nb; do ip -n $n link set lo up; done
na ip link set wan-a up
nb ip link set wan-b up
na ip addr add 10.1.0.1/32 dev lo
nb ip addr add 10.2.0.1/32 dev lo

wait_for() {
	local n=$1
	shift
	while ((n-- > 0)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

gwctl() { local w=$1; shift; "$BIN/gwctl" -c "$dir/$w.conf" "$@"; }
ctr() { gwctl "$1" stats | awk -v n="$2" '$1 == n { print $2 }'; }
child_count() { gwctl "$1" sa list | awk 'NR > 1 && $5 == "installed"' | wc -l; }
child_spi_in() { gwctl "$1" sa list | awk 'NR > 1 && $5 == "installed" { print $2; exit }'; }
ike_spi() { gwctl "$1" ike list | awk 'NR == 2 { print $2 }'; }
up() { [[ $(ike_spi a) && $(ike_spi a) == $(ike_spi b) ]] && (($(child_count a) == 1 && $(child_count b) == 1)); }
drops() { # replay and ICV drops of one side
	echo $(($(ctr "$1" drop_replay) + $(ctr "$1" drop_auth)))
}

write_conf() { # name local peer local_ts remote_ts initiator suite pfs
	cat >"$dir/$1.conf" <<-EOF
	[gateway]
	member_id = $([[ $1 == a ]] && echo 1 || echo 2)
	name = $1
	tun = hagw0
	local = $2
	shm = /hagw-ike$1$$
	control = $dir/$1.ctl

	[ike]
	retransmit_ms = 500

	[conn peer]
	peer = $3
	local_id = $1.test
	remote_id = $([[ $1 == a ]] && echo b || echo a).test
	psk = gwd-to-gwd
	ike_proposals = $7-prfsha256-x25519
	esp_proposals = $7-esn
	local_ts = $4
	remote_ts = $5
	initiator = $6
	pfs = $8
	dpd = 5
	EOF
}

start() { # name ns
	ip netns exec $2 "$BIN/gwd" -c "$dir/$1.conf" -v >>"$dir/$1.log" 2>&1 &
	pids+=($!)
	eval "pid_$1=$!"
	wait_for 50 test -S "$dir/$1.ctl"
}

stop() {
	kill $pid_a $pid_b
	wait $pid_a $pid_b 2>/dev/null || true
	rm -f /dev/shm/hagw-ikea$$ /dev/shm/hagw-ikeb$$
}

ping_both() {
	na ping -q -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1 >/dev/null
	nb ping -q -c 3 -i 0.2 -W 2 -I 10.2.0.1 10.1.0.1 >/dev/null
}

# rekey_under_flood WHO: a Child SA rekey started by WHO while a floods.
rekey_under_flood() {
	local who=$1 old lost
	ip netns exec $na ping -q -f -c 40000 -W 2 -I 10.1.0.1 10.2.0.1 >"$dir/flood.out" 2>&1 &
	local fp=$!
	pids+=($fp)
	sleep 0.3
	old=$(child_spi_in "$who")
	gwctl "$who" rekey "$old" >/dev/null
	wait_for 50 eval '[[ $(child_spi_in $who) != "$old" ]] && (($(child_count a) == 1 && $(child_count b) == 1))'
	kill -0 $fp
	wait $fp
	lost=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$dir/flood.out")
	pretty flood "$(grep 'packet loss' "$dir/flood.out")"
	[[ $lost == 0 ]]
}

run_suite() { # suite pfs
	local suite=$1 pfs=$2 old
	pretty "$suite" "esn, pfs=$pfs"
	write_conf a 192.168.78.1 192.168.78.2 10.1.0.0/24 10.2.0.0/24 yes "$suite" "$pfs"
	write_conf b 192.168.78.2 192.168.78.1 10.2.0.0/24 10.1.0.0/24 no "$suite" "$pfs"
	start b $nb
	start a $na
	wait_for 100 up
	ping_both
	[[ $(gwctl a sa list | awk 'NR == 2 { print $4 }') == "$suite" ]]
	gwctl a sa list | awk 'NR == 2 { print $6 }' | grep -q esn
	gwctl b sa list | awk 'NR == 2 { print $6 }' | grep -q esn
	pretty "$suite" "tunnel up with ESN, pings pass both ways"

	rekey_under_flood a
	rekey_under_flood b
	((($(drops a) + $(drops b)) == 0))
	(($(ctr a ike_rekeys_succeeded) == 1 && $(ctr b ike_rekeys_succeeded) == 1))
	ping_both
	pretty "$suite" "child SA rekeyed by each side under a flood: no loss, no replay or ICV drop"

	for who in b a; do
		old=$(ike_spi a)
		gwctl "$who" rekey ike "$old" >/dev/null
		wait_for 50 eval '[[ $(ike_spi a) != "$old" ]] && up'
		ping_both
	done
	(($(ctr a ike_ike_rekeys) == 2))
	pretty "$suite" "IKE SA rekeyed by each side, child SA kept"

	# b restarts: it takes its SAs over from the shm table, nothing is
	# renegotiated, and the next exchanges work (message IDs went along).
	old=$(ike_spi b)
	local spi=$(child_spi_in b) neg=$(ctr a ike_sa_established)
	kill $pid_b
	wait $pid_b 2>/dev/null || true
	start b $nb
	[[ $(ike_spi b) == "$old" && $(child_spi_in b) == "$spi" ]]
	ping_both
	rekey_under_flood b
	(($(ctr a ike_sa_established) == neg))
	((($(drops a) + $(drops b)) == 0))
	pretty "$suite" "b restarted, took its SAs over from the table, rekeyed under a flood"

	old=$(ike_spi a)
	gwctl b delete-ike "$old" >/dev/null
	wait_for 50 eval '[[ $(ike_spi a) != "$old" ]] && ! gwctl b sa list | grep -q installed'
	(($(ctr a ike_sa_deleted) >= 1))
	# a is the initiator: it comes back by itself after 5 s
	wait_for 100 eval 'up && [[ $(ike_spi a) != "$old" ]]'
	ping_both
	pretty "$suite" "deleted by b, re-initiated by a"
	stop
}

run_suite aes256gcm16 no
run_suite chacha20poly1305 yes

echo "ike-gwd: all passed"
