#!/usr/bin/env bash
# gwd's IKEv2 against an unmodified strongSwan 5.9 (charon-systemd with
# kernel-libipsec, shared/notes/strongswan-in-netns.md).
#
#   10.1.0.1 (lo)                                        10.2.0.1 (lo)
#   ┌──────────── $TEST_ID-gw ───────────┐   ┌───────── $TEST_ID-site ─────────┐
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
. "$(dirname "$0")/lib.sh"
require_root
for t in charon-systemd swanctl; do
	if ! command -v $t >/dev/null; then
		echo "SKIP: $t not installed (make deps installs strongSwan)"
		exit 0
	fi
done
[[ -x $BIN/gwd && -x $BIN/gwctl ]]

# On failure, the last lines of both daemons' logs, then lib.sh's cleanup.
on_exit() {
	local rc=$?
	if ((rc)); then
		echo "== failed (rc $rc); last lines of gwd.log and charon.log:"
		tail -n 25 "$TEST_TMP/gwd.log" "$TEST_TMP/charon.log"
	fi
	cleanup
}
trap on_exit EXIT

ns gw site
link gw wan-gw site wan-site
addr gw wan-gw 192.168.77.1/24
addr site wan-site 192.168.77.2/24
addr gw lo 10.1.0.1/32
addr site lo 10.2.0.1/32
SHMS+=("/$TEST_ID-gw")

# --- helpers ---------------------------------------------------------------

gwctl() { "$BIN/gwctl" -c "$TEST_TMP/gw.conf" "$@"; }
gctr() { ctr "$TEST_TMP/gw.conf" "$1"; }
swan() { n site env STRONGSWAN_CONF="$TEST_TMP/strongswan.conf" swanctl "$@" --uri "unix://$TEST_TMP/charon.vici"; }
ss_rejects() {
	grep -c -e 'ESP sequence number verification failed' -e 'ESP decryption or ICV verification failed' \
		"$TEST_TMP/charon.log" || true
}
child_count() { gwctl sa list | awk 'NR > 1 && $5 == "installed"' | wc -l; }
child_spi_in() { gwctl sa list | awk 'NR > 1 && $5 == "installed" { print $2; exit }'; }
ike_up() { gwctl ike list | awk 'NR > 1 && $4 == "installed"' | grep -q .; }
ss_child_up() { swan --list-sas | grep -q 'INSTALLED, TUNNEL'; }
tunnel_up() { ike_up && (($(child_count) >= 1)) && ss_child_up; }

write_gwd_conf() { # suite initiator psk dpd
	cat >"$TEST_TMP/gw.conf" <<-EOF
	[gateway]
	member_id = 3
	name = gw
	tun = hagw0
	local = 192.168.77.1
	shm = /$TEST_ID-gw
	control = $TEST_TMP/gw.ctl

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
	cat >"$TEST_TMP/strongswan.conf" <<-EOF
	charon {
		load_modular = no
		load = random nonce openssl aes sha1 sha2 hmac gcm chapoly curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici updown
		install_virtual_ip = no
		retransmit_tries = 3
		retransmit_timeout = 1
		plugins {
			vici { socket = unix://$TEST_TMP/charon.vici }
		}
		filelog {
			log {
				path = $TEST_TMP/charon.log
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
	cat >"$TEST_TMP/swanctl.conf" <<-EOF
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
	start gwd gw "$BIN/gwd" -c "$TEST_TMP/gw.conf" -v
	wait_for 5 "gwd's control socket" test -S "$TEST_TMP/gw.ctl"
}

start_charon() {
	: >"$TEST_TMP/charon.log"
	start charond site env STRONGSWAN_CONF="$TEST_TMP/strongswan.conf" charon-systemd
	# the socket file appears before charon listens on it
	wait_for 5 "charon's vici socket" swan --stats
	swan --load-all --file "$TEST_TMP/swanctl.conf" >"$TEST_TMP/swanctl.out" 2>&1
}

stop_all() {
	stop gwd
	stop charond
	rm -f "/dev/shm/$TEST_ID-gw"
}

ping_both() {
	n gw ping -q -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1 >/dev/null
	n site ping -q -c 3 -i 0.2 -W 2 -I 10.2.0.1 10.1.0.1 >/dev/null
}

# Starts a ping flood from the gw side; flood_check returns 0 if every
# ping came back.
flood_start() {
	start flood gw ping -q -f -c 20000 -W 2 -I 10.1.0.1 10.2.0.1
}
flood_check() {
	local loss
	wait $PID_flood
	loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$TEST_TMP/flood.log")
	pretty flood "$(grep 'packet loss' "$TEST_TMP/flood.log")"
	[[ $loss == 0 ]]
}

# --- bad input: crafted datagrams from the site namespace ------------------

cat >"$TEST_TMP/bad.py" <<'EOF'
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
	local t0=$(gctr ike_drop_truncated) c0=$(gctr ike_unsupported_critical) \
		u0=$(gctr ike_unknown_spi) m0=$(gctr ike_bad_msgid) d0=$(gctr ike_decrypt_failed)
	n site /usr/bin/python3 "$TEST_TMP/bad.py" 192.168.77.1 "$spi_i" "$spi_r" "$mid"
	(($(gctr ike_drop_truncated) >= t0 + 4))
	(($(gctr ike_unsupported_critical) == c0 + 1))
	(($(gctr ike_unknown_spi) == u0 + 1))
	(($(gctr ike_bad_msgid) == m0 + 1))
	(($(gctr ike_decrypt_failed) == d0 + 1))
	kill -0 $PID_gwd
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
	wait_for 10 "the tunnel" tunnel_up
	ping_both
	[[ $(gwctl sa list | awk 'NR == 2 { print $4 }') == "$suite" ]]
	pretty "$suite" "tunnel up, pings pass both ways"

	# Child SA rekey started by gwd, under a ping flood.
	flood_start
	sleep 0.3
	old=$(child_spi_in)
	gwctl rekey "$old" >/dev/null
	wait_for 5 "the child rekey by gwd" eval '[[ $(child_spi_in) != "$old" ]] && (($(child_count) == 1))'
	kill -0 $PID_flood # the rekey completed while the flood ran
	flood_check
	(($(ss_rejects) == 0))
	(($(gctr ike_rekeys_succeeded) >= 1))
	ping_both
	pretty "$suite" "child rekey by gwd: $old -> $(child_spi_in), no loss, no rejection"

	# Child SA rekey started by strongSwan, under a ping flood.
	flood_start
	sleep 0.3
	old=$(child_spi_in)
	swan --rekey --child net >/dev/null
	wait_for 5 "strongSwan's child rekey" eval '[[ $(child_spi_in) != "$old" ]] && (($(child_count) == 1))'
	kill -0 $PID_flood
	flood_check
	(($(ss_rejects) == 0))
	(($(gctr ike_rekeys_answered) >= 1))
	ping_both
	pretty "$suite" "child rekey by strongSwan: $old -> $(child_spi_in), no loss, no rejection"

	# IKE SA rekey by strongSwan, then by gwd: the Child SA moves along.
	old=$(gwctl ike list | awk 'NR == 2 { print $2 }')
	swan --rekey --ike gw >/dev/null
	wait_for 5 "strongSwan's IKE rekey" eval '[[ $(gwctl ike list | awk "NR == 2 { print \$2 }") != "$old" ]] &&
		(($(gwctl ike list | wc -l) == 2))'
	ping_both
	old=$(gwctl ike list | awk 'NR == 2 { print $2 }')
	gwctl rekey ike "$old" >/dev/null
	wait_for 5 "gwd's IKE rekey" eval '[[ $(gwctl ike list | awk "NR == 2 { print \$2 }") != "$old" ]] &&
		(($(gwctl ike list | wc -l) == 2))'
	ping_both
	(($(gctr ike_ike_rekeys) >= 2))
	[[ $(gwctl ike list | awk 'NR == 2 { print $11 }') == 1 ]]
	pretty "$suite" "IKE SA rekeyed by strongSwan and by gwd, child SA kept"

	# DPD after 2 s of silence: sent by gwd and answered by strongSwan, or
	# the other way round.
	if [[ $who == gwd ]]; then
		local dpd=$(gctr ike_dpd_sent)
		wait_for 6 "two DPDs from gwd" eval '(($(gctr ike_dpd_sent) > dpd + 1))'
	else
		local ans=$(gctr ike_dpd_answered)
		wait_for 6 "two DPDs from strongSwan answered" eval '(($(gctr ike_dpd_answered) > ans + 1))'
	fi
	(($(gctr ike_exchange_timeouts) == 0))
	ike_up
	pretty "$suite" "DPD $([[ $who == gwd ]] && echo "sent by gwd, answered" || echo "from strongSwan answered by gwd")"

	# RFC 6311: strongSwan announces IKEV2_MESSAGE_ID_SYNC_SUPPORTED only
	# as the IKE initiator. Then gwd starts a sync, strongSwan answers, and
	# the next exchange (a rekey) still goes through; else gwd refuses.
	local ike_spi=$(gwctl ike list | awk 'NR == 2 { print $2 }')
	if [[ $who == strongswan ]]; then
		gwctl --json ike list | grep -q '"peer_msgid_sync":true'
		local synced=$(grep -c 'message IDs synchronised' "$TEST_TMP/gwd.log" || true)
		gwctl msgid-sync "$ike_spi" >/dev/null
		wait_for 3 "the message-ID sync" eval '(($(grep -c "message IDs synchronised" "$TEST_TMP/gwd.log") > synced))'
		old=$(child_spi_in)
		gwctl rekey "$old" >/dev/null
		wait_for 5 "the rekey after the sync" eval '[[ $(child_spi_in) != "$old" ]] && (($(child_count) == 1))'
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
		stop charond KILL
		start_charon
		wait_for 10 "INITIAL_CONTACT to replace the stale SAs" eval '! gwctl ike list | grep -q "$old" && (($(gwctl ike list | wc -l) == 2)) &&
			(($(child_count) == 1)) && ss_child_up'
		(($(gwctl sa list | wc -l) == 2))
		ping_both
		pretty "$suite" "strongSwan restarted: INITIAL_CONTACT replaced the stale SAs"
	fi

	# Delete from strongSwan: everything goes on both sides (an initiating
	# gwd comes back with new SAs, 5 s later).
	old=$(gwctl ike list | awk 'NR == 2 { print $2 }')
	spi=$(child_spi_in)
	local deleted=$(gctr ike_sa_deleted)
	swan --terminate --ike gw >/dev/null
	wait_for 5 "the delete" eval '! gwctl ike list | grep -q "$old" && ! gwctl sa list | grep -q "$spi"'
	(($(gctr ike_sa_deleted) == deleted + 1))
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
wait_for 10 "AUTHENTICATION_FAILED (strongSwan initiates)" eval '(($(gctr ike_auth_failed) >= 1))'
grep -q 'AUTHENTICATION_FAILED' "$TEST_TMP/charon.log"
! ike_up
(($(child_count) == 0))
stop_all
pretty psk "gwd initiates with a wrong PSK"
write_gwd_conf aes256gcm16 yes "not-the-psk"
write_swan_conf aes256gcm16 none "hagw-test-psk"
start_gwd
start_charon
wait_for 10 "AUTHENTICATION_FAILED (gwd initiates)" eval '(($(gctr ike_auth_failed) >= 1))'
! ike_up
(($(child_count) == 0))
! swan --list-sas | grep -q ESTABLISHED
stop_all
pretty psk "AUTHENTICATION_FAILED both ways, nothing installed"

echo "ike-strongswan: all passed"
