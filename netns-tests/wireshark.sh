#!/usr/bin/env bash
# `gwctl keys --wireshark` lets tshark decrypt a capture of the tunnel.
#
#   client ----- gwa ===== ESP-in-UDP 4500 ===== gwb ----- server
#  10.1.0.2   10.1.0.1         (captured)      10.2.0.1   10.2.0.2
#             192.168.241.1 --- veth --- 192.168.241.2
#
# For AES-GCM without and with ESN (the ESN SA starts 3 below 2^32, so its
# packets cross into the second sub-space): capture ESP-in-UDP on gwb's
# outer link while the client pings with a recognisable pattern, write
# gwctl's lines into the esp_sa table of a private tshark profile, and check
# that tshark shows every echo request and reply with the pattern and what
# it makes of the ICVs; then the same capture with one key digit changed
# shows no pattern and no correct ICV. tshark is installed by `make deps`:
# without it the test fails.
source "$(dirname "$0")/lib.sh"
require_root
command -v tshark >/dev/null || die "tshark is missing: run 'make deps'"
command -v tcpdump >/dev/null || die "tcpdump is missing: run 'make deps'"

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
A=$TEST_TMP/a.conf
B=$TEST_TMP/b.conf
PATTERN=68616777747368726b21 # "hagwtshrk!", repeated by ping through its payload
PINGS=5

# conf SIDE ESN [INITIAL_SEQ]
conf() {
	local side=$1 esn=$2 init=${3:-0}
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
alg = aes256gcm16
esn = $esn
key_in = $5
key_out = $6
local_ts = $7
remote_ts = $8
peer = $9
initial_seq = $init
EOC
}

gw_up() { # ESN [INITIAL_SEQ for both]
	conf a "$1" "${2:-0}"
	conf b "$1" "${2:-0}"
	start gwa gwa "$BIN/gwd" -c "$A"
	start gwb gwb "$BIN/gwd" -c "$B"
	wait_for 5 "gwa's tunnel route" n gwa ip route get 10.2.0.2 oif hga
	wait_for 5 "gwb's tunnel route" n gwb ip route get 10.1.0.2 oif hgb
}

gw_down() { stop gwa; stop gwb; }

# A private tshark profile: HOME and XDG_CONFIG_HOME point into the test
# directory, so tshark reads $XDG_CONFIG_HOME/wireshark/esp_sa and nothing
# of the machine's own configuration is read or changed.
TSHARK_HOME=$TEST_TMP/home
mkdir -p "$TSHARK_HOME/.config/wireshark"
ESP_SA=$TSHARK_HOME/.config/wireshark/esp_sa

# ts PCAP args...: tshark with ESP decryption and ICV checking on. UDP 4500
# is Wireshark's "udpencap" port (RFC 3948): ESP inside is dissected as ESP.
ts() {
	local pcap=$1
	shift
	HOME=$TSHARK_HOME XDG_CONFIG_HOME=$TSHARK_HOME/.config tshark -n -r "$pcap" \
		-o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE "$@" \
		2>"$TEST_TMP/tshark.err"
	# a table line tshark cannot parse is an error on stderr, not a failure
	! grep -v "Running as user" "$TEST_TMP/tshark.err" | grep -q . ||
		die "tshark complained: $(grep -v "Running as user" "$TEST_TMP/tshark.err")"
}

# captured PCAP N: the capture holds at least N packets (tcpdump -U writes
# each packet as it comes).
captured() { (($(tcpdump -n -r "$1" 2>/dev/null | wc -l) >= $2)); }

# decoded PCAP TYPE: ICMP messages of TYPE (8 request, 0 reply) that tshark
# decrypted and whose payload carries the pattern.
decoded() {
	ts "$1" -Y "icmp.type == $2" -T fields -e data.data | grep -c "$PATTERN" || true
}

for variant in "no 0" "yes 4294967293"; do
	set -- $variant
	esn=$1
	pretty "esn=$esn" "capture ${PINGS} pings with pattern $PATTERN on the outer link"
	gw_up "$esn" "$2"
	wait_for 5 "a first ping through the tunnel" n client ping -c 1 -W 1 10.2.0.2
	pcap=$TEST_TMP/esp-$esn.pcap
	# a log per variant: the previous tcpdump's "listening on" must not count
	start cap_$esn gwb tcpdump --immediate-mode -n -U -Z root -i b1 -w "$pcap" udp port 4500
	wait_for 5 "tcpdump to listen" grep -q "listening on" "$TEST_TMP/cap_$esn.log"
	n client ping -c $PINGS -i 0.05 -W 1 -p $PATTERN 10.2.0.2 >/dev/null
	wait_for 5 "$((2 * PINGS)) packets in the capture" captured "$pcap" $((2 * PINGS))
	stop cap_$esn INT
	seq=$(sa_field "$A" 0x2001 out_seq)
	keys=$TEST_TMP/keys-$esn
	"$BIN/gwctl" -c "$A" keys --wireshark >"$keys" 2>"$TEST_TMP/keys.err"
	cp "$keys" "$ESP_SA"
	pretty "esn=$esn" "esp_sa from gwctl: $(wc -l <"$ESP_SA") lines"
	[[ $(wc -l <"$ESP_SA") == 2 ]]

	# Every request (gwa -> gwb, SPI 0x1001) and every reply (gwb -> gwa, SPI
	# 0x2001) decrypts to an ICMP packet with the pattern, so both lines work.
	req=$(decoded "$pcap" 8)
	rep=$(decoded "$pcap" 0)
	pretty "esn=$esn" "tshark decoded $req requests and $rep replies with the pattern"
	((req == PINGS && rep == PINGS))
	# The inner packets are the tunnel's (client to server inside the
	# gateways' outer addresses) and the ESP trailer was parsed: next header
	# 4 (IPv4, tunnel mode), a pad length.
	[[ $(ts "$pcap" -Y "icmp.type == 8" -T fields -e ip.src -e ip.dst | sort -u) == \
		$'192.168.241.1,10.1.0.2\t192.168.241.2,10.2.0.2' ]]
	[[ $(ts "$pcap" -Y "esp.protocol == 4" -T fields -e esp.pad_len | wc -l) == $((2 * PINGS)) ]]

	# The ICV: without ESN tshark checks it and finds every one correct. With
	# ESN it cannot: Wireshark 4.0 authenticates SPI || 32-bit SN only, while
	# RFC 4106 section 5 puts the high 32 bits of the ESN into the AAD, and
	# its esp_sa table has no field for them. GCM's keystream does not depend
	# on the AAD, so the payload still decrypts.
	good=$(ts "$pcap" -Y "esp.icv_good == 1" -T fields -e esp.sequence | wc -l)
	bad=$(ts "$pcap" -Y "esp.icv_bad == 1" -T fields -e esp.sequence | wc -l)
	pretty "esn=$esn" "ICV as tshark sees it: $good correct, $bad incorrect"
	if [[ $esn == no ]]; then
		((good == 2 * PINGS && bad == 0))
		[[ ! -s $TEST_TMP/keys.err ]]
	else
		((good == 0 && bad == 2 * PINGS))
		grep -q "1 ESN SAs: Wireshark decrypts them but shows their ICV as incorrect" "$TEST_TMP/keys.err"
		# the capture crossed 2^32: the low 32 bits on the wire restarted
		((seq > 4294967296))
		[[ $(ts "$pcap" -Y "esp.spi == 0x1001 && esp.sequence < 10" -T fields -e esp.sequence) ]]
	fi

	# One key digit changed in each line: no packet decodes to the pattern and
	# no ICV verifies. (Not "no ICMP at all", nor "every ICV incorrect":
	# garbage ends in a random next header byte, 1 in 256 of which is ICMP,
	# and a dissector that throws on garbage ends the packet before tshark
	# adds its ICV verdict.)
	awk -F, -v OFS=, '{ c = substr($6, 4, 1); $6 = "\"0x" (c == "0" ? "1" : "0") substr($6, 5) } 1' \
		"$keys" >"$ESP_SA"
	[[ $(<"$keys") != $(<"$ESP_SA") ]]
	wrong_req=$(decoded "$pcap" 8)
	wrong_rep=$(decoded "$pcap" 0)
	good=$(ts "$pcap" -Y "esp.icv_good == 1" -T fields -e esp.sequence | wc -l)
	bad=$(ts "$pcap" -Y "esp.icv_bad == 1" -T fields -e esp.sequence | wc -l)
	pretty "esn=$esn" "with a wrong key: $wrong_req requests, $wrong_rep replies with the pattern; ICV $good correct, $bad incorrect"
	# (some ICV was checked and failed: the lines still matched the packets)
	((wrong_req == 0 && wrong_rep == 0 && good == 0 && bad > 0))
	gw_down
done
pretty wireshark "all passed"
