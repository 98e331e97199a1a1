# Helpers shared by the netns tests (sourced, not run).
#
# Every test gets a unique TEST_ID (namespace prefix) and a TEST_TMP
# directory from run.sh (or makes its own when run by hand). Everything a
# test starts goes through `start`, which records the PID; the EXIT trap
# kills those PIDs, then anything still inside the test's namespaces, then
# deletes the namespaces and the shm tables. Waits poll with a bound.

set -e
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
BIN=$ROOT/$BUILD/bin
TEST_ID=${TEST_ID:-hg$$}
TEST_TMP=${TEST_TMP:-$(mktemp -d /tmp/hagw-test.XXXXXX)}
mkdir -p "$TEST_TMP"
NETNS=()
PIDS=()
SHMS=()

pretty() { echo -e "\x1b[32m\x1b[1m[+] ${1}:\x1b[0m ${2}" >&2; }
die() { echo "FAIL: $*" >&2; exit 1; }

cleanup() {
	local p ns s
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for ns in "${NETNS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	for s in "${SHMS[@]}"; do rm -f "/dev/shm/${s#/}"; done
	[[ ${KEEP_TMP:-} ]] || rm -rf "$TEST_TMP"
}
trap cleanup EXIT

# ns NAME...: create namespaces $TEST_ID-NAME with lo up.
ns() {
	local n
	for n in "$@"; do
		ip netns add "$TEST_ID-$n"
		NETNS+=("$TEST_ID-$n")
		ip -n "$TEST_ID-$n" link set lo up
	done
}

# n NAME cmd...: run a command in namespace NAME.
n() { local ns=$1; shift; ip netns exec "$TEST_ID-$ns" "$@"; }

# link A IFA B IFB: a veth pair between namespaces A and B.
link() {
	ip link add "$2" netns "$TEST_ID-$1" type veth peer name "$4" netns "$TEST_ID-$3"
	ip -n "$TEST_ID-$1" link set "$2" up
	ip -n "$TEST_ID-$3" link set "$4" up
}

# addr NS IF ADDR/PLEN
addr() { ip -n "$TEST_ID-$1" addr add "$3" dev "$2"; }

# start NAME NS cmd...: run cmd in NS in the background, log to
# $TEST_TMP/NAME.log, remember its PID in PID_NAME.
start() {
	local name=$1 nsn=$2
	shift 2
	ip netns exec "$TEST_ID-$nsn" "$@" >"$TEST_TMP/$name.log" 2>&1 &
	PIDS+=("$!")
	printf -v "PID_$name" '%s' "$!"
}

# stop NAME [SIG]: signal a started process and wait for it. A process
# asked to stop cleanly (TERM, INT) must exit 0: a sanitizer report or a
# crash on the way out fails the test.
stop() {
	local var=PID_$1 sig=${2:-TERM} rc=0
	local p=${!var}
	kill -"$sig" "$p" 2>/dev/null || true
	for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
	wait "$p" 2>/dev/null || rc=$?
	if [[ $sig == TERM || $sig == INT ]] && ((rc != 0)); then
		tail -20 "$TEST_TMP/$1.log" >&2
		die "$1 exited with status $rc after SIG$sig"
	fi
	return 0
}

# wait_for SECONDS WHAT cmd...: poll cmd every 50 ms until it succeeds.
wait_for() {
	local t=$1 what=$2 i
	shift 2
	for ((i = 0; i < t * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	die "timed out after ${t}s waiting for $what"
}

# listening NS PORT: a TCP socket listens on PORT in NS.
listening() { n "$1" ss -Hltn "sport = :$2" | grep -q .; }

randkey() { od -An -tx1 -N"${1:-36}" /dev/urandom | tr -d ' \n'; }

# ctr CONF NAME: a gateway-wide counter from gwctl.
ctr() { "$BIN/gwctl" -c "$1" stats | awk -v k="$2" '$1 == k { print $2 }'; }

# sa_field CONF SPI FIELD: one field of `gwctl --json sa show SPI`.
sa_field() {
	"$BIN/gwctl" -c "$1" --json sa show "$2" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$3"
}

require_root() { ((EUID == 0)) || die "netns tests need root (sudo make check)"; }
