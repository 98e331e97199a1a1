#!/usr/bin/env bash
# syncd's packet threshold with gwd's marks: an SA that moves much more
# than packet_threshold per interval reaches the standby at the next scan,
# not at the interval's end.
#
#   site ns                  gw1 ns (ACTIVE)                     gw2 ns (STANDBY)
#   10.1.0.1 (lo)            10.2.0.1 (lo)
#   gwd site ── wan veth ── gwd gw1 + syncd gw1 ── sync veth ── syncd gw2
#   192.168.51.2             192.168.51.1   10.9.1.1              10.9.1.2
#
# A flood ping through ESP moves the SA's counters both ways by thousands
# of packets per interval (2 s here). gwd marks the SA whenever a counter
# crosses a multiple of 64 (the threshold); the active's syncd reads only
# marked SAs between flushes. Asserts: the standby's counters never trail
# the active's by more than the threshold plus one scan's traffic (and
# what moved while sampling, and some lateness of timers), a bound many
# times below one interval's traffic, which is what the standby would trail
# by if marks went unseen (tests/test_sync_engine.c checks the scans'
# logic exactly; this checks gwd's marks and the whole path).
source "$(dirname "$0")/lib.sh"
require_root

INTERVAL=2000 SCAN=25 THRESHOLD=64

ns site gw1 gw2
link site wan0 gw1 wan0
link gw1 sync0 gw2 sync0
addr site wan0 192.168.51.2/24
addr gw1 wan0 192.168.51.1/24
addr gw1 sync0 10.9.1.1/24
addr gw2 sync0 10.9.1.2/24
addr site lo 10.1.0.1/32
addr gw1 lo 10.2.0.1/32

KA=$(randkey) KB=$(randkey) PSK=$(randkey 32)
SHM1=/$TEST_ID-gw1 SHM2=/$TEST_ID-gw2 SHMS_=/$TEST_ID-site
SHMS+=("$SHM1" "$SHM2" "$SHMS_")

sync_section() { # local peer
	cat <<-EOT
	[sync]
	local = $1
	peer = $2
	psk = $PSK
	interval_ms = $INTERVAL
	scan_ms = $SCAN
	packet_threshold = $THRESHOLD
	heartbeat_ms = 100
	timeout_ms = 1000
	backoff_min_ms = 50
	backoff_max_ms = 400
	EOT
}

cat >"$TEST_TMP/gw1.conf" <<EOT
[gateway]
member_id = 1
name = gw1
tun = $TEST_ID-t1
local = 192.168.51.1
shm = $SHM1
control = $TEST_TMP/gw1.ctl
standalone = yes

[sa traffic]
spi_in = 0x1001
spi_out = 0x2001
alg = aes256gcm16
key_in = $KA
key_out = $KB
local_ts = 10.2.0.0/24
remote_ts = 10.1.0.0/24
peer = 192.168.51.2

$(sync_section 10.9.1.1 10.9.1.2)
EOT
cat >"$TEST_TMP/site.conf" <<EOT
[gateway]
member_id = 5
name = site
tun = $TEST_ID-ts
local = 192.168.51.2
shm = $SHMS_
control = $TEST_TMP/site.ctl
standalone = yes

[sa traffic]
spi_in = 0x2001
spi_out = 0x1001
alg = aes256gcm16
key_in = $KB
key_out = $KA
local_ts = 10.1.0.0/24
remote_ts = 10.2.0.0/24
peer = 192.168.51.1
EOT
{
	printf '[gateway]\nmember_id = 2\nname = gw2\nshm = %s\ncontrol = %s/gw2.ctl\nstandalone = no\n\n' \
		"$SHM2" "$TEST_TMP"
	sync_section 10.9.1.2 10.9.1.1
} >"$TEST_TMP/gw2.conf"

in_sync() { "$BIN/gwctl" -s "$1" --json status 2>/dev/null | grep -q '^{[^{]*"in_sync":true'; }
jget() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2 | tr -d '"'; }

pretty setup "gwd on both ends of the tunnel, syncd on the pair"
start gwd_site site "$BIN/gwd" -c "$TEST_TMP/site.conf"
start gwd_gw1 gw1 "$BIN/gwd" -c "$TEST_TMP/gw1.conf"
wait_for 5 "gw1's SA" "$BIN/gwctl" -s "$SHM1" sa show 0x1001
start syncd_gw1 gw1 "$BIN/syncd" -c "$TEST_TMP/gw1.conf"
start syncd_gw2 gw2 "$BIN/syncd" -c "$TEST_TMP/gw2.conf"
wait_for 10 "the standby in sync" in_sync "$SHM2"
wait_for 5 "a ping through ESP" n site ping -c 1 -W 1 -I 10.1.0.1 10.2.0.1

pretty threshold "a flood through ESP: the standby trails by the threshold and a scan"
start ping site ping -q -f -w 6 -I 10.1.0.1 10.2.0.1
sleep 1
t0=$(date +%s%N)
o0=$("$BIN/gwctl" -s "$SHM1" --json sa show 0x1001 | jget out_seq)
max_out=0 max_in=0 max_gap=0
for ((i = 0; i < 15; i++)); do
	g0=$(date +%s%N)
	b=$("$BIN/gwctl" -s "$SHM2" --json sa show 0x1001)
	a=$("$BIN/gwctl" -s "$SHM1" --json sa show 0x1001)
	g1=$(date +%s%N)
	b_out=$(jget out_seq <<<"$b") b_in=$(jget replay_top <<<"$b")
	a_out=$(jget out_seq <<<"$a") a_in=$(jget replay_top <<<"$a")
	((a_out - b_out > max_out)) && max_out=$((a_out - b_out))
	((a_in - b_in > max_in)) && max_in=$((a_in - b_in))
	(((g1 - g0) / 1000 > max_gap)) && max_gap=$(((g1 - g0) / 1000))
	((b_out <= a_out && b_in <= a_in))
	[[ ${DEBUG_TRAIL:-} ]] && echo "    trail $((a_out - b_out)) gap $(((g1 - g0) / 1000)) us"
	sleep 0.11
done
t1=$(date +%s%N)
o1=$("$BIN/gwctl" -s "$SHM1" --json sa show 0x1001 | jget out_seq)
rate=$(((o1 - o0) * 1000000000 / (t1 - t0)))
per_interval=$((rate * INTERVAL / 1000))
# the threshold, one scan's traffic, what moved while sampling, and two
# scans more: with a flood, gwd and syncd on two cores, a scan timer is
# now and then late by a scan or two
bound=$((THRESHOLD + rate * 3 * SCAN / 1000 + rate * max_gap / 1000000 + 2))
echo "    ${rate} packets/s (${per_interval} per interval); trail out ${max_out}, in ${max_in};" \
	"bound ${bound} (sampling took up to ${max_gap} us)"
# the test means something only if one interval's traffic is far beyond
# the bound: then the standby could only stay within it by threshold sends
((per_interval > 4 * bound))
((max_out <= bound && max_in <= bound))
stop ping INT || true

pretty drops "no malformed, auth or version drops"
for s in "$SHM1" "$SHM2"; do
	for c in sync_drop_malformed sync_drop_auth sync_drop_version; do
		(($("$BIN/gwctl" -s "$s" --json stats | jget $c) == 0))
	done
done
echo "sync_threshold.sh: OK"
