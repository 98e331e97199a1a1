#!/usr/bin/env bash
# Installs the Debian packages the build, the tests, the demo and the
# benchmarks need. Idempotent: installs only what is missing.
set -euo pipefail

pkgs=(
	build-essential pkg-config
	libsodium-dev libmnl-dev libuv1-dev libmsgpack-dev libcmocka-dev libinih-dev
	clang libclang-rt-14-dev
	iproute2 iptables iputils-ping iperf3 tcpdump netcat-openbsd procps psmisc python3
	tshark keepalived
	# the IKEv2 interop peer (netns-tests/ike-strongswan.sh): strongSwan with
	# its userspace ESP (kernel-libipsec); -standard-plugins brings AES-GCM
	strongswan-charon strongswan-swanctl charon-systemd libcharon-extra-plugins
	libstrongswan-extra-plugins libstrongswan-standard-plugins
)
# Extra packages (benchmark peers, fuzzing) are listed by the files that need
# them, so that `make deps` stays the one place that installs anything.
if [[ ${DEPS_EXTRA:-} ]]; then
	read -r -a extra <<<"$DEPS_EXTRA"
	pkgs+=("${extra[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
if ((EUID != 0)); then
	echo "deps: missing ${missing[*]}; run 'sudo make deps'" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
# noninteractive also answers wireshark-common's "should non-superusers
# capture?" debconf question with its default, no (the tests run as root).
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
