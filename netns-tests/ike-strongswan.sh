#!/usr/bin/env bash
# gwd's IKEv2 against an unmodified strongSwan 5.9 (charon-systemd with
# kernel-libipsec, shared/notes/strongswan-in-netns.md).
#
#   10.1.0.1 (lo)                                        10.2.0.1 (lo)
#   ┌─────────────── gw$$ ───────────────┐   ┌──────────── site$$ ────────────┐
#   │ gwd  TUN hagw0   wan 192.168.77.1  ├───┤ wan 192.168.77.2  charon ipsec0 │
#   └────────────────────────────────────┘   └────────────────────────────────┘
#              IKE 500 -> 4500 (non-ESP marker), ESP in UDP 4500
#
# For each IKE/ESP suite (AES-GCM-16-256, ChaCha20-Poly1305, no ESN) and
# each side as initiator: the tunnel comes up, pings pass both ways, a
# Child SA rekey started by gwd and one started by strongSwan while a ping
# flood runs, with nothing rejected by strongSwan's ESP (its log) and
# nothing lost; an IKE SA rekey by strongSwan and by gwd; a DPD answered;
# a Delete. Then a wrong PSK fails on both sides with nothing installed,
# and bad input (truncated, bad lengths, unknown critical payload, unknown
# SPIs, wrong message ID, a flipped bit in the SK payload) is counted and
# gwd keeps working.
set -e
shopt -s extglob

BUILD=${BUILD:-build}
BIN=$(cd "$(dirname "$0")/.." && pwd)/$BUILD/bin
for t in charon-systemd swanctl; do
	if ! command -v $t >/dev/null; then
		echo "SKIP: $t not installed (make deps installs strongSwan)"
		exit 0
	fi
done
[[ -x $BIN/gwd && -x $BIN/gwctl ]]

dir=$(mktemp -d /tmp/ike-ss.XXXXXX)
gw=gw$$ site=site$$
pids=()

pretty() { echo -e "\x1b[32m\x1b[1m[+] $1:\x1b[0m $2"; }
ngw() { ip netns exec $gw "$@"; }
nsite() { ip netns exec $site "$@"; }

cleanup() {
	local rc=$?
	set +e
	if ((rc)); then
		echo "== failed (rc $rc); last lines of gwd.log and charon.log:"
		tail -n 25 "$dir/gwd.log" "$dir/charon.log"
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del $gw 2>/dev/null
	ip netns del $site 2>/dev/null
	rm -f /dev/shm/hagw-ike$$
	rm -rf "$dir"
}
trap cleanup EXIT

ip netns add $gw
ip netns add $site
ip link add wan-gw netns $gw type veth peer name wan-site netns $site
ngw ip addr add 192.168.77.1/24 dev wan-gw
nsite ip addr add 192.168.77.2/24 dev wan-site
ngw ip link set wan-gw up
nsite ip link set wan-site up
ngw ip link set lo up
nsite ip link set lo up
ngw ip addr add 10.1.0.1/32 dev lo
nsite ip addr add 10.2.0.1/32 dev lo

# --- helpers ---------------------------------------------------------------

# wait_for TRIES CMD...: polls CMD every 100 ms, at most TRIES times.
wait_for() {
	local n=$1
	shift
	while ((n-- > 0)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

gwctl() { "$BIN/gwctl" -c "$dir/gw.conf" "$@"; }
ctr() { gwctl stats | awk -v n="$1" '$1 == n { print $2 }'; }
swan() { nsite env STRONGSWAN_CONF="$dir/strongswan.conf" swanctl "$@" --uri "unix://$dir/charon.vici"; }
ss_rejects() {
	grep -c -e 'ESP sequence number verification failed' -e 'ESP decryption or ICV verification failed' \
		"$dir/charon.log" || true
}
child_count() { gwctl sa list | awk 'NR > 1 && $5 == "installed"' | wc -l; }
child_spi_in() { gwctl sa list | awk 'NR > 1 && $5 == "installed" { print $2; exit }'; }
ike_up() { gwctl ike list | awk 'NR > 1 && $4 == "installed"' | grep -q .; }
ss_child_up() { swan --list-sas | grep -q 'INSTALLED, TUNNEL'; }
tunnel_up() { ike_up && (($(child_count) >= 1)) && ss_child_up; }

write_gwd_conf() { # suite initiator psk dpd
	cat >"$dir/gw.conf" <<-EOF
	[gateway]
	member_id = 3
	name = gw
	tun = hagw0
	local = 192.168.77.1
	shm = /hagw-ike$$
	control = $dir/gw.ctl

	[ike]
	retransmit_ms = 500
	retransmit_tries = 4

	[conn site]
	peer = 192.168.77.2
	local_id = gw.test
	remote_id = site.test
	psk = $3
	ike_proposals = $1-prfsha256-x25519
	esp_proposals = $1-noesn
	local_ts = 10.1.0.0/24
	remote_ts = 10.2.0.0/24
	initiator = $2
	dpd = ${4:-2}
	EOF
}

write_swan_conf() { # suite start_action psk dpd_delay
	cat >"$dir/strongswan.conf" <<-EOF
	charon {
		load_modular = no
		load = random nonce openssl aes sha1 sha2 hmac gcm chapoly curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici updown
		install_virtual_ip = no
		retransmit_tries = 3
		retransmit_timeout = 1
		plugins {
			vici { socket = unix://$dir/charon.vici }
		}
		filelog {
			log {
				path = $dir/charon.log
				flush_line = yes
				default = 1
				ike = 2
				esp = 2
				chd = 2
				knl = 1
			}
		}
		syslog {
			daemon {
				default = -1
			}
		}
		journal {
			default = -1
		}
	}
	EOF
	cat >"$dir/swanctl.conf" <<-EOF
	connections {
		gw {
			version = 2
			local_addrs = 192.168.77.2
			remote_addrs = 192.168.77.1
			encap = yes
			proposals = $1-prfsha256-x25519
			dpd_delay = ${4:-0}s
			rekey_time = 0
			local {
				auth = psk
				id = site.test
			}
			remote {
				auth = psk
				id = gw.test
			}
			children {
				net {
					local_ts = 10.2.0.0/24
					remote_ts = 10.1.0.0/24
					esp_proposals = $1-noesn
					start_action = $2
					rekey_time = 0
					life_time = 0
				}
			}
		}
	}
	secrets {
		ike-gw {
			id-a = site.test
			id-b = gw.test
			secret = "$3"
		}
	}
	EOF
}

start_gwd() {
	# not through ngw: a function in the background is a subshell, and $!
	# must be the daemon's own PID
	ip netns exec $gw "$BIN/gwd" -c "$dir/gw.conf" -v >>"$dir/gwd.log" 2>&1 &
	gwd_pid=$!
	pids+=($gwd_pid)
	wait_for 50 test -S "$dir/gw.ctl"
}

start_charon() {
	: >"$dir/charon.log"
	ip netns exec $site env STRONGSWAN_CONF="$dir/strongswan.conf" charon-systemd >"$dir/charon.out" 2>&1 &
	charon_pid=$!
	pids+=($charon_pid)
	# the socket file appears before charon listens on it
	wait_for 50 swan --stats
	swan --load-all --file "$dir/swanctl.conf" >"$dir/swanctl.out" 2>&1
}

stop_all() {
	kill $gwd_pid $charon_pid 2>/dev/null || true
	wait $gwd_pid $charon_pid 2>/dev/null || true
	rm -f /dev/shm/hagw-ike$$
	nsite ip link del ipsec0 2>/dev/null || true
}

ping_both() {
	ngw ping -q -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1 >/dev/null
	nsite ping -q -c 3 -i 0.2 -W 2 -I 10.2.0.1 10.1.0.1 >/dev/null
}

# Starts a ping flood from the gw side; flood_check returns 0 if every
# ping came back.
flood_start() {
	ip netns exec $gw ping -q -f -c 20000 -W 2 -I 10.1.0.1 10.2.0.1 >"$dir/flood.out" 2>&1 &
	flood_pid=$!
	pids+=($flood_pid)
}
flood_check() {
	wait $flood_pid
	local loss
	loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$dir/flood.out")
	pretty flood "$(grep 'packet loss' "$dir/flood.out")"
	[[ $loss == 0 ]]
}

# --- bad input: crafted datagrams from the site namespace ------------------

cat >"$dir/bad.py" <<'EOF'
# Sends malformed IKE to gwd and checks the answers RFC 7296 asks for.
import os, socket, struct, sys
gw, spi_i, spi_r, mid = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16), int(sys.argv[4])

def hdr(si, sr, np, exch, flags, msgid, length):
    return struct.pack('!QQBBBBII', si, sr, np, 0x20, exch, flags, msgid, length)

def send(port, data, want_reply):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.sendto((b'\0' * 4 if port == 4500 else b'') + data, (gw, port))
    try:
        r = s.recv(4096)
    except socket.timeout:
        r = None
    s.close()
    if want_reply is None:
        assert r is None, 'unexpected answer'
        return
    assert r is not None, 'no answer'
    if port == 4500:
        r = r[4:]
    # the answer is one unencrypted Notify (41): its type at offset 28 + 6
    assert r[16] == 41, r[16]
    ntype = struct.unpack('!H', r[34:36])[0]
    assert ntype == want_reply, ntype

# first what needs the SA's current message ID
# the real SA, a wrong message ID: dropped silently
send(4500, hdr(spi_i, spi_r, 46, 37, 0x08, mid + 5, 28 + 29) + struct.pack('!BBH', 0, 0, 29) + os.urandom(25), None)
# the real SA, the right message ID, an SK payload that does not decrypt
send(4500, hdr(spi_i, spi_r, 46, 37, 0x08, mid, 28 + 29) + struct.pack('!BBH', 0, 0, 29) + os.urandom(25), None)
# truncated: half a header, on both ports; no answer
send(500, os.urandom(14), None)
send(4500, os.urandom(14), None)
# header length larger than the datagram
send(500, hdr(1, 0, 33, 34, 0x08, 0, 200) + b'\0' * 8, None)
# a payload length that runs past the end
send(500, hdr(2, 0, 40, 34, 0x08, 0, 36) + struct.pack('!BBH', 0, 0, 40) + b'\0' * 4, None)
# IKE_SA_INIT with an unknown critical payload: UNSUPPORTED_CRITICAL_PAYLOAD (1)
send(500, hdr(3, 0, 200, 34, 0x08, 0, 36) + struct.pack('!BBH', 0, 0x80, 8) + b'\0' * 4, 1)
# a request for IKE SPIs gwd does not know: INVALID_IKE_SPI (4)
send(4500, hdr(4, 5, 46, 37, 0x08, 0, 28 + 29) + struct.pack('!BBH', 0, 0, 29) + os.urandom(25), 4)
print('bad input: all answered as expected')
EOF

bad_input() {
	local line spi_i spi_r mid
	line=$(gwctl ike list | awk 'NR == 2')
	spi_i=$(awk '{ print $2 }' <<<"$line")
	spi_r=$(awk '{ print $3 }' <<<"$line")
	mid=$(awk '{ print $9 }' <<<"$line")
	local t0=$(ctr ike_drop_truncated) c0=$(ctr ike_unsupported_critical) \
		u0=$(ctr ike_unknown_spi) m0=$(ctr ike_bad_msgid) d0=$(ctr ike_decrypt_failed)
	nsite /usr/bin/python3 "$dir/bad.py" 192.168.77.1 "$spi_i" "$spi_r" "$mid"
	(($(ctr ike_drop_truncated) >= t0 + 4))
	(($(ctr ike_unsupported_critical) == c0 + 1))
	(($(ctr ike_unknown_spi) == u0 + 1))
	(($(ctr ike_bad_msgid) == m0 + 1))
	(($(ctr ike_decrypt_failed) == d0 + 1))
	kill -0 $gwd_pid
	ike_up
	ping_both
	pretty bad-input "truncated, bad lengths, critical payload, unknown SPI, wrong message ID, SK failure: counted, answered, gwd fine"
}

# --- one suite, one initiator -------------------------------------------

run_case() { # suite initiator(gwd|strongswan)
	local suite=$1 who=$2 spi old new
	pretty "$suite" "$who initiates"
	# DPD: each side only probes a silent peer, so one side at a time:
	# gwd probes when it initiates, strongSwan when it does.
	if [[ $who == gwd ]]; then
		write_gwd_conf "$suite" yes "hagw-test-psk" 2
		write_swan_conf "$suite" none "hagw-test-psk" 0
	else
		write_gwd_conf "$suite" no "hagw-test-psk" 0
		write_swan_conf "$suite" start "hagw-test-psk" 2
	fi
	start_gwd
	start_charon
	wait_for 100 tunnel_up
	ping_both
	[[ $(gwctl sa list | awk 'NR == 2 { print $4 }') == "$suite" ]]
	pretty "$suite" "tunnel up, pings pass both ways"

	# Child SA rekey started by gwd, under a ping flood.
	flood_start
	sleep 0.3
	old=$(child_spi_in)
	gwctl rekey "$old" >/dev/null
	wait_for 50 eval '[[ $(child_spi_in) != "$old" ]] && (($(child_count) == 1))'
	kill -0 $flood_pid # the rekey completed while the flood ran
	flood_check
	(($(ss_rejects) == 0))
	(($(ctr ike_rekeys_succeeded) >= 1))
	ping_both
	pretty "$suite" "child rekey by gwd: $old -> $(child_spi_in), no loss, no rejection"

	# Child SA rekey started by strongSwan, under a ping flood.
	flood_start
	sleep 0.3
	old=$(child_spi_in)
	swan --rekey --child net >/dev/null
	wait_for 50 eval '[[ $(child_spi_in) != "$old" ]] && (($(child_count) == 1))'
	kill -0 $flood_pid
	flood_check
	(($(ss_rejects) == 0))
	(($(ctr ike_rekeys_answered) >= 1))
	ping_both
	pretty "$suite" "child rekey by strongSwan: $old -> $(child_spi_in), no loss, no rejection"

	# IKE SA rekey by strongSwan, then by gwd: the Child SA moves along.
	old=$(gwctl ike list | awk 'NR == 2 { print $2 }')
	swan --rekey --ike gw >/dev/null
	wait_for 50 eval '[[ $(gwctl ike list | awk "NR == 2 { print \$2 }") != "$old" ]] &&
		(($(gwctl ike list | wc -l) == 2))'
	ping_both
	old=$(gwctl ike list | awk 'NR == 2 { print $2 }')
	gwctl rekey ike "$old" >/dev/null
	wait_for 50 eval '[[ $(gwctl ike list | awk "NR == 2 { print \$2 }") != "$old" ]] &&
		(($(gwctl ike list | wc -l) == 2))'
	ping_both
	(($(ctr ike_ike_rekeys) >= 2))
	[[ $(gwctl ike list | awk 'NR == 2 { print $11 }') == 1 ]]
	pretty "$suite" "IKE SA rekeyed by strongSwan and by gwd, child SA kept"

	# DPD after 2 s of silence: sent by gwd and answered by strongSwan, or
	# the other way round.
	if [[ $who == gwd ]]; then
		local dpd=$(ctr ike_dpd_sent)
		wait_for 60 eval '(($(ctr ike_dpd_sent) > dpd + 1))'
	else
		local ans=$(ctr ike_dpd_answered)
		wait_for 60 eval '(($(ctr ike_dpd_answered) > ans + 1))'
	fi
	(($(ctr ike_exchange_timeouts) == 0))
	ike_up
	pretty "$suite" "DPD $([[ $who == gwd ]] && echo "sent by gwd, answered" || echo "from strongSwan answered by gwd")"

	# RFC 6311: strongSwan announces IKEV2_MESSAGE_ID_SYNC_SUPPORTED only
	# as the IKE initiator. Then gwd starts a sync, strongSwan answers, and
	# the next exchange (a rekey) still goes through; else gwd refuses.
	local ike_spi=$(gwctl ike list | awk 'NR == 2 { print $2 }')
	if [[ $who == strongswan ]]; then
		gwctl --json ike list | grep -q '"peer_msgid_sync":true'
		local synced=$(grep -c 'message IDs synchronised' "$dir/gwd.log" || true)
		gwctl msgid-sync "$ike_spi" >/dev/null
		wait_for 30 eval '(($(grep -c "message IDs synchronised" "$dir/gwd.log") > synced))'
		old=$(child_spi_in)
		gwctl rekey "$old" >/dev/null
		wait_for 50 eval '[[ $(child_spi_in) != "$old" ]] && (($(child_count) == 1))'
		ping_both
		pretty "$suite" "message-ID sync (RFC 6311) answered by strongSwan"
	else
		gwctl --json ike list | grep -q '"peer_msgid_sync":false'
		! gwctl msgid-sync "$ike_spi" 2>/dev/null
		pretty "$suite" "no message-ID sync: strongSwan did not announce it"
	fi

	[[ $suite == aes256gcm16 && $who == gwd ]] && bad_input # strongSwan sends no requests here

	# strongSwan crashes (no Delete) and comes back with INITIAL_CONTACT:
	# gwd replaces the stale SAs at once instead of waiting for DPD.
	if [[ $who == strongswan ]]; then
		old=$(gwctl ike list | awk 'NR == 2 { print $2 }')
		kill -9 $charon_pid
		wait $charon_pid 2>/dev/null || true
		start_charon
		wait_for 100 eval '! gwctl ike list | grep -q "$old" && (($(gwctl ike list | wc -l) == 2)) &&
			(($(child_count) == 1)) && ss_child_up'
		(($(gwctl sa list | wc -l) == 2))
		ping_both
		pretty "$suite" "strongSwan restarted: INITIAL_CONTACT replaced the stale SAs"
	fi

	# Delete from strongSwan: everything goes on both sides (an initiating
	# gwd comes back with new SAs, 5 s later).
	old=$(gwctl ike list | awk 'NR == 2 { print $2 }')
	spi=$(child_spi_in)
	local deleted=$(ctr ike_sa_deleted)
	swan --terminate --ike gw >/dev/null
	wait_for 50 eval '! gwctl ike list | grep -q "$old" && ! gwctl sa list | grep -q "$spi"'
	(($(ctr ike_sa_deleted) == deleted + 1))
	pretty "$suite" "IKE SA deleted by strongSwan; gwd removed it and its child SA"
	(($(ss_rejects) == 0))
	stop_all
}

run_case aes256gcm16 strongswan
run_case aes256gcm16 gwd
run_case chacha20poly1305 strongswan
run_case chacha20poly1305 gwd

# --- wrong PSK: fails cleanly on both sides ------------------------------
pretty psk "strongSwan initiates with a wrong PSK"
write_gwd_conf aes256gcm16 no "hagw-test-psk"
write_swan_conf aes256gcm16 start "not-the-psk"
start_gwd
start_charon
wait_for 100 eval '(($(ctr ike_auth_failed) >= 1))'
grep -q 'AUTHENTICATION_FAILED' "$dir/charon.log"
! ike_up
(($(child_count) == 0))
stop_all
pretty psk "gwd initiates with a wrong PSK"
write_gwd_conf aes256gcm16 yes "not-the-psk"
write_swan_conf aes256gcm16 none "hagw-test-psk"
start_gwd
start_charon
wait_for 100 eval '(($(ctr ike_auth_failed) >= 1))'
! ike_up
(($(child_count) == 0))
! swan --list-sas | grep -q ESTABLISHED
stop_all
pretty psk "AUTHENTICATION_FAILED both ways, nothing installed"

echo "ike-strongswan: all passed"
