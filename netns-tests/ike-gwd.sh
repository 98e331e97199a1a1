#!/usr/bin/env bash
# gwd against gwd over IKEv2: the same exchanges as against strongSwan,
# plus ESN (which strongSwan's kernel-libipsec lacks) and PFS rekeys.
#
#   10.1.0.1 (lo)                                10.2.0.1 (lo)
#   ┌───────── $TEST_ID-a ────────┐   ┌───────── $TEST_ID-b ────────┐
#   │ gwd  TUN hagw0  wan .78.1   ├───┤ wan .78.2  TUN hagw0  gwd   │
#   └─────────────────────────────┘   └─────────────────────────────┘
#          a initiates; IKE 500 -> 4500, ESP in UDP 4500
#
# For each suite (AES-GCM-16-256 with ESN, ChaCha20-Poly1305 with ESN and
# PFS): tunnel up, pings both ways, a Child SA rekey by each side under a
# ping flood with nothing lost and no replay or ICV drop at either gwd, an
# IKE SA rekey by each side, a restart of one gwd that takes its SAs over
# from the shm table, a promotion of b (`gwctl promote`, what vrrp runs;
# strategy global-rekey) that its IKE engine carries out: the RFC 6311
# message-ID sync, the rekey paced from the queue, counted in
# `gwctl failover last`; a Delete, and the re-initiation that follows.
. "$(dirname "$0")/lib.sh"
require_root
[[ -x $BIN/gwd && -x $BIN/gwctl ]]

on_exit() {
	local rc=$?
	if ((rc)); then
		echo "== failed (rc $rc); last lines of the gwd logs:"
		tail -n 20 "$TEST_TMP/a.log" "$TEST_TMP/b.log"
	fi
	cleanup
}
trap on_exit EXIT

ns a b
link a wan-a b wan-b
addr a wan-a 192.168.78.1/24
addr b wan-b 192.168.78.2/24
addr a lo 10.1.0.1/32
addr b lo 10.2.0.1/32
SHMS+=("/$TEST_ID-a" "/$TEST_ID-b")

gwctl() { local w=$1; shift; "$BIN/gwctl" -c "$TEST_TMP/$w.conf" "$@"; }
gctr() { ctr "$TEST_TMP/$1.conf" "$2"; }
child_count() { gwctl "$1" sa list | awk 'NR > 1 && $5 == "installed"' | wc -l; }
sa_total() { gwctl "$1" sa list | awk 'NR > 1' | wc -l; }
child_spi_in() { gwctl "$1" sa list | awk 'NR > 1 && $5 == "installed" { print $2; exit }'; }
ike_spi() { gwctl "$1" ike list | awk 'NR == 2 { print $2 }'; }
up() { [[ $(ike_spi a) && $(ike_spi a) == $(ike_spi b) ]] && (($(child_count a) == 1 && $(child_count b) == 1)); }
fo_field() { # FIELD of b's `gwctl --json failover last`
	gwctl b --json failover last |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
drops() { # replay and ICV drops of one side
	echo $(($(gctr "$1" drop_replay) + $(gctr "$1" drop_auth)))
}

write_conf() { # name local peer local_ts remote_ts initiator suite pfs
	cat >"$TEST_TMP/$1.conf" <<-EOF
	[gateway]
	member_id = $([[ $1 == a ]] && echo 1 || echo 2)
	name = $1
	tun = hagw0
	local = $2
	shm = /$TEST_ID-$1
	control = $TEST_TMP/$1.ctl

	[ike]
	retransmit_ms = 500

	[failover]
	strategy = global-rekey
	rekey_rate = 10

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

start_gwd() { # name
	start "$1" "$1" "$BIN/gwd" -c "$TEST_TMP/$1.conf" -v
	wait_for 5 "gwd $1's control socket" test -S "$TEST_TMP/$1.ctl"
}

stop_all() {
	stop a
	stop b
	rm -f "/dev/shm/$TEST_ID-a" "/dev/shm/$TEST_ID-b"
}

ping_both() {
	n a ping -q -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1 >/dev/null
	n b ping -q -c 3 -i 0.2 -W 2 -I 10.2.0.1 10.1.0.1 >/dev/null
}

# rekey_under_flood WHO: a Child SA rekey started by WHO while a floods.
rekey_under_flood() {
	local who=$1 old lost
	start flood a ping -q -f -c 40000 -W 2 -I 10.1.0.1 10.2.0.1
	sleep 0.3
	old=$(child_spi_in "$who")
	gwctl "$who" rekey "$old" >/dev/null
	wait_for 5 "the child rekey by $who" eval '[[ $(child_spi_in $who) != "$old" ]] && (($(child_count a) == 1 && $(child_count b) == 1))'
	kill -0 $PID_flood # the rekey completed while the flood ran
	wait $PID_flood
	lost=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$TEST_TMP/flood.log")
	pretty flood "$(grep 'packet loss' "$TEST_TMP/flood.log")"
	[[ $lost == 0 ]]
}

run_suite() { # suite pfs
	local suite=$1 pfs=$2 old
	pretty "$suite" "esn, pfs=$pfs"
	write_conf a 192.168.78.1 192.168.78.2 10.1.0.0/24 10.2.0.0/24 yes "$suite" "$pfs"
	write_conf b 192.168.78.2 192.168.78.1 10.2.0.0/24 10.1.0.0/24 no "$suite" "$pfs"
	start_gwd b
	start_gwd a
	wait_for 10 "the tunnel" up
	ping_both
	[[ $(gwctl a sa list | awk 'NR == 2 { print $4 }') == "$suite" ]]
	gwctl a sa list | awk 'NR == 2 { print $6 }' | grep -q esn
	gwctl b sa list | awk 'NR == 2 { print $6 }' | grep -q esn
	pretty "$suite" "tunnel up with ESN, pings pass both ways"

	rekey_under_flood a
	rekey_under_flood b
	((($(drops a) + $(drops b)) == 0))
	(($(gctr a ike_rekeys_succeeded) == 1 && $(gctr b ike_rekeys_succeeded) == 1))
	ping_both
	pretty "$suite" "child SA rekeyed by each side under a flood: no loss, no replay or ICV drop"

	for who in b a; do
		old=$(ike_spi a)
		gwctl "$who" rekey ike "$old" >/dev/null
		wait_for 5 "the IKE rekey by $who" eval '[[ $(ike_spi a) != "$old" ]] && up'
		ping_both
	done
	(($(gctr a ike_ike_rekeys) == 2))
	pretty "$suite" "IKE SA rekeyed by each side, child SA kept"

	# b restarts: it takes its SAs over from the shm table, nothing is
	# renegotiated, and the next exchanges work (message IDs went along).
	old=$(ike_spi b)
	local spi=$(child_spi_in b) neg=$(gctr a ike_sa_established)
	stop b
	start_gwd b
	[[ $(ike_spi b) == "$old" && $(child_spi_in b) == "$spi" ]]
	ping_both
	rekey_under_flood b
	(($(gctr a ike_sa_established) == neg))
	((($(drops a) + $(drops b)) == 0))
	pretty "$suite" "b restarted, took its SAs over from the table, rekeyed under a flood"

	# b steps down, then is promoted as vrrp would promote it: its engine
	# takes the SAs over, syncs the message IDs with a (RFC 6311: gwd
	# announces it) and rekeys the one Child SA (global-rekey).
	spi=$(child_spi_in b)
	local syncs=$(gctr a ike_msgid_syncs) answered=$(gctr a ike_rekeys_answered)
	# the restart's rekey finished (old SAs deleted and gone on both sides):
	# a step-down in the middle of a rekey is test_ike_engine's
	# test_takeover_mid_rekey_*
	wait_for 10 "the old SAs to go" eval '(($(sa_total a) == 1 && $(sa_total b) == 1))'
	gwctl b role standby >/dev/null
	wait_for 5 "b's engine to step down" grep -q 'IKE goes quiet' "$TEST_TMP/b.log"
	gwctl b promote "netns test" >/dev/null
	wait_for 5 "the promotion's rekey" eval '(($(fo_field rekeys_done) == 1)) && [[ $(child_spi_in b) != "$spi" ]] && up'
	(($(fo_field rekey_queued) == 1 && $(fo_field rekeys_started) == 1 && $(fo_field rekeys_failed) == 0))
	(($(fo_field ike_msgid_sync) == 1 && $(gctr b ike_promo_msgid_syncs) == 1))
	(($(gctr a ike_msgid_syncs) == syncs + 1 && $(gctr a ike_rekeys_answered) == answered + 1))
	(($(gctr b ike_promo_rekeys) == 1 && $(gctr a ike_bad_msgid) == 0))
	gwctl b failover last | grep -q '1 queued .*1 started, 1 done, 0 failed'
	ping_both
	((($(drops a) + $(drops b)) == 0))
	pretty "$suite" "b promoted: message IDs synced, its child SA rekeyed from the queue, counted in the report"

	old=$(ike_spi a)
	gwctl b delete-ike "$old" >/dev/null
	wait_for 5 "the delete" eval '[[ $(ike_spi a) != "$old" ]] && ! gwctl b sa list | grep -q installed'
	(($(gctr a ike_sa_deleted) >= 1))
	# a is the initiator: it comes back by itself after 5 s
	wait_for 10 "a to come back" eval 'up && [[ $(ike_spi a) != "$old" ]]'
	ping_both
	pretty "$suite" "deleted by b, re-initiated by a"
	stop_all
}

run_suite aes256gcm16 no
run_suite chacha20poly1305 yes

echo "ike-gwd: all passed"
