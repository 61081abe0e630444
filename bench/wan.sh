#!/usr/bin/env bash
# bench/wan.sh: ferry's client over a long-distance link, against the
# classic clients, on the same server (`ferry serve`).
#
# Two network namespaces joined by tundelay (../shared/lab/tundelay: this
# kernel has no netem), 25 ms each way (a 50 ms round trip) at 1 Gbit/s;
# `ferry serve` on one side (FTPS, SFTP, HTTPS on their usual ports), the
# clients on the other. One 256 MiB file and a tree of 500 files (64-512
# KiB), down and up, byte-exact, with:
#   ferry's client (defaults: files at once and segments from the round trip)
#   lftp: pget -n 4 (FTPS, implicit), mirror --parallel=4 (and -R)
#   OpenSSH sftp (-b; aes128-gcm@openssh.com)
#   curl (HTTPS, one stream)
# and prints MB/s (10^6 bytes/s), the ratio to the peer of the same
# protocol, to the link's 125 MB/s and to what plain TCP gets across it
# (bench/tcpfill, 4 streams: the path's limit with this kernel's buffers). Client and server share the
# machine's cores with tundelay (which copies every packet): the load
# average and the idle CPU during the run are printed with the numbers.
#
#   bench/wan.sh                        (as root; needs go, ip, lftp, sftp, curl, ssh-keygen)
#   SIZE_MIB=64 FILES=100 bench/wan.sh  # smaller
#   ROWS="sftp ftps" bench/wan.sh       # only some protocols: sftp ftps https tree
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-256}
FILES=${FILES:-500}
ROWS=${ROWS:-sftp ftps https tree}
DELAY=${DELAY:-25ms}
PASS=wan-bench-$RANDOM$RANDOM
SRV=198.18.0.2
repo=$(cd "$(dirname "$0")/.." && pwd)
tundelay_src=${TUNDELAY:-$repo/../shared/lab/tundelay}

for p in go ip lftp sftp curl ssh-keygen; do
	command -v "$p" >/dev/null || { echo "bench/wan.sh: $p is not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/wan.sh: run as root (network namespaces)" >&2; exit 1; }
[ -f "$tundelay_src/main.go" ] || { echo "bench/wan.sh: no tundelay at $tundelay_src (set TUNDELAY)" >&2; exit 1; }

id=wb$RANDOM
cli=${id}c
srv=${id}s
work=$(mktemp -d /dev/shm/ferry-wan.XXXXXX)
tpid=
cleanup() {
	for ns in "$cli" "$srv"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	done
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$cli" 2>/dev/null || true
	ip netns del "$srv" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "building ferry and tundelay..."
(cd "$repo" && go build -o "$work/ferry" ./cmd/ferry && go build -o "$work/tcpfill" ./bench/tcpfill)
(cd "$tundelay_src" && go build -o "$work/tundelay" .)

ip netns add "$cli"
ip netns add "$srv"
"$work/tundelay" -ns-a "/var/run/netns/$cli" -ns-b "/var/run/netns/$srv" -dev-a "${id}C" -dev-b "${id}S" \
	-delay "$DELAY" -rate-mbit 1000 >"$work/tundelay.log" 2>&1 &
tpid=$!
for _ in $(seq 100); do grep -q ready "$work/tundelay.log" && break; sleep 0.1; done
ip -n "$cli" addr add 198.18.0.1/24 dev "${id}C"
ip -n "$srv" addr add "$SRV/24" dev "${id}S"
for ns in "$cli" "$srv"; do
	dev=${id}C
	[ "$ns" = "$srv" ] && dev=${id}S
	ip -n "$ns" link set "$dev" mtu 9000 up
	ip -n "$ns" link set lo up
done
C() { ip netns exec "$cli" "$@"; }

echo "making data: $SIZE_MIB MiB and $FILES files..."
home=$work/home
mkdir -p "$home/tree" "$work/src/tree" "$work/dl"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$work/src/big.bin"
ln "$work/src/big.bin" "$home/big.bin"
for i in $(seq "$FILES"); do
	d=d$((i % 10))
	mkdir -p "$work/src/tree/$d"
	head -c $(((64 + RANDOM % 449) * 1024)) /dev/urandom >"$work/src/tree/$d/f$i.bin"
done
cp -a "$work/src/tree/." "$home/tree/"
tree_bytes=$(du -sb --apparent-size "$work/src/tree" | cut -f1)

cat >"$work/ferry.toml" <<CONF
data_dir = "$work/data"
listen_address = "$SRV"
CONF
ssh-keygen -q -t ed25519 -N '' -f "$work/id"
echo "$PASS" | "$work/ferry" user add bench --password-stdin --key "$work/id.pub" --home "$home" --config "$work/ferry.toml" >/dev/null
ip netns exec "$srv" "$work/ferry" serve --config "$work/ferry.toml" >"$work/serve.log" 2>&1 &
for _ in $(seq 300); do grep -q "ferry serving" "$work/serve.log" && break; sleep 0.1; done
grep -q "ferry serving" "$work/serve.log" || { cat "$work/serve.log"; exit 1; }

export FERRY_PASSWORD=$PASS HOME=$work/clienthome SSH_AUTH_SOCK=
mkdir -p "$HOME"
F() { C "$work/ferry" "$@" --insecure -q; }
sshopts=(-F /dev/null -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR
	-o IdentityFile="$work/id" -o IdentitiesOnly=yes -o Ciphers=aes128-gcm@openssh.com)
LFTP_SET="set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set net:max-retries 1; set xfer:clobber yes"
lftp_do() { C lftp -u "bench,$PASS" -e "$LFTP_SET; $1; quit" "ftps://$SRV"; }

# time_of CMD...: seconds a command takes (it must succeed).
time_of() {
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>"$work/last.err" || { echo "failed: $*" >&2; cat "$work/last.err" >&2; exit 1; }
	e=$(date +%s%N)
	awk -v s="$s" -v e="$e" 'BEGIN {printf "%.2f", (e - s) / 1e9}'
}
mbs() { awk -v b="$1" -v t="$2" 'BEGIN {printf "%.1f", b / t / 1e6}'; }
same() { cmp -s "$1" "$2" || { echo "NOT byte-exact: $1 $2" >&2; exit 1; }; }
sametree() { diff -r -q "$1" "$2" >/dev/null || { echo "trees differ: $1 $2" >&2; exit 1; }; }
cpu_idle() { awk '/^cpu /{print $5+$6, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

declare -A mb
row() { # KEY BYTES SECONDS LABEL
	mb[$1]=$(mbs "$2" "$3")
	printf "  %-44s %7.2f s %8s MB/s\n" "$4" "$3" "${mb[$1]}"
}
big=$((SIZE_MIB << 20))
# What the path carries: plain TCP, 1 and 4 streams, 5 s each (the
# kernel's default buffers cap one stream below the link's rate).
ip netns exec "$srv" "$work/tcpfill" -listen "$SRV:5999" &
sleep 0.3
path1=$(C "$work/tcpfill" -connect "$SRV:5999" -n 1 -d 5s)
path4=$(C "$work/tcpfill" -connect "$SRV:5999" -n 4 -d 5s)
echo "path: plain TCP, 1 stream $path1 MB/s, 4 streams $path4 MB/s (link 125 MB/s)"
read -r idle0 total0 < <(cpu_idle)
echo "ferry $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo dev); RTT $(C ping -c1 -W1 $SRV 2>/dev/null | grep -o 'time=[0-9.]* ms' || echo "2x$DELAY"); load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ " $ROWS " == *" sftp "* ]]; then
	echo "SFTP, $SIZE_MIB MiB:"
	rm -f "$work/dl/big.bin"
	row sftp_get_ferry $big "$(time_of F get "sftp://bench@$SRV/big.bin" "$work/dl/big.bin")" "ferry get (auto segments)"
	same "$work/src/big.bin" "$work/dl/big.bin"
	rm -f "$work/dl/big.bin"
	row sftp_get_ossh $big "$(time_of C sftp "${sshopts[@]}" -b - "bench@$SRV" <<<"get big.bin $work/dl/big.bin")" "OpenSSH sftp get"
	same "$work/src/big.bin" "$work/dl/big.bin"
	rm -f "$home/up-f.bin" "$home/up-o.bin"
	row sftp_put_ferry $big "$(time_of F put "$work/src/big.bin" "sftp://bench@$SRV/up-f.bin")" "ferry put (auto segments)"
	same "$work/src/big.bin" "$home/up-f.bin"
	row sftp_put_ossh $big "$(time_of C sftp "${sshopts[@]}" -b - "bench@$SRV" <<<"put $work/src/big.bin up-o.bin")" "OpenSSH sftp put"
	same "$work/src/big.bin" "$home/up-o.bin"
	rm -f "$home/up-f.bin" "$home/up-o.bin" "$work/dl/big.bin"
fi

if [[ " $ROWS " == *" ftps "* ]]; then
	echo "FTPS (implicit, PROT P), $SIZE_MIB MiB:"
	row ftps_get_ferry $big "$(time_of F get "ftps://bench@$SRV/big.bin" "$work/dl/big.bin")" "ferry get (auto segments)"
	same "$work/src/big.bin" "$work/dl/big.bin"
	rm -f "$work/dl/big.bin"
	row ftps_get_lftp4 $big "$(time_of lftp_do "pget -n 4 -O $work/dl big.bin")" "lftp pget -n 4"
	same "$work/src/big.bin" "$work/dl/big.bin"
	rm -f "$work/dl/big.bin"
	row ftps_get_lftp1 $big "$(time_of lftp_do "get -O $work/dl big.bin")" "lftp get (one stream)"
	same "$work/src/big.bin" "$work/dl/big.bin"
	rm -f "$work/dl/big.bin" "$home/up-f.bin" "$home/up-l.bin"
	row ftps_put_ferry $big "$(time_of F put "$work/src/big.bin" "ftps://bench@$SRV/up-f.bin")" "ferry put (one stream, as FTP needs)"
	same "$work/src/big.bin" "$home/up-f.bin"
	row ftps_put_lftp $big "$(time_of lftp_do "put -O / $work/src/big.bin -o up-l.bin")" "lftp put"
	same "$work/src/big.bin" "$home/up-l.bin"
	rm -f "$home/up-f.bin" "$home/up-l.bin"
fi

if [[ " $ROWS " == *" https "* ]]; then
	echo "HTTPS (ferry's API), $SIZE_MIB MiB:"
	row https_get_ferry $big "$(time_of F get "https://bench@$SRV/big.bin" "$work/dl/big.bin")" "ferry get (auto segments)"
	same "$work/src/big.bin" "$work/dl/big.bin"
	rm -f "$work/dl/big.bin"
	row https_get_curl $big "$(time_of C curl -sSfk -u "bench:$PASS" -o "$work/dl/big.bin" "https://$SRV/api/v1/files/big.bin")" "curl get (one stream)"
	same "$work/src/big.bin" "$work/dl/big.bin"
	rm -f "$work/dl/big.bin" "$home/up-f.bin" "$home/up-c.bin"
	row https_put_ferry $big "$(time_of F put "$work/src/big.bin" "https://bench@$SRV/up-f.bin")" "ferry put (one stream, as the API needs)"
	same "$work/src/big.bin" "$home/up-f.bin"
	row https_put_curl $big "$(time_of C curl -sSfk -u "bench:$PASS" -T "$work/src/big.bin" "https://$SRV/api/v1/files/up-c.bin")" "curl put"
	same "$work/src/big.bin" "$home/up-c.bin"
	rm -f "$home/up-f.bin" "$home/up-c.bin"
fi

if [[ " $ROWS " == *" tree "* ]]; then
	echo "tree of $FILES files ($((tree_bytes / 1048576)) MiB):"
	t() { rm -rf "$work/dl/tree"; time_of "$@"; }
	row tree_get_ferry_sftp "$tree_bytes" "$(t F get -r "sftp://bench@$SRV/tree" "$work/dl/tree")" "ferry get -r sftp"
	sametree "$work/src/tree" "$work/dl/tree"
	row tree_get_ferry_sftp16 "$tree_bytes" "$(t F get -r --parallel 16 "sftp://bench@$SRV/tree" "$work/dl/tree")" "ferry get -r --parallel 16 sftp"
	sametree "$work/src/tree" "$work/dl/tree"
	row tree_get_ossh "$tree_bytes" "$(t C sftp "${sshopts[@]}" -b - "bench@$SRV" <<<"get -r tree $work/dl/tree")" "OpenSSH sftp get -r"
	sametree "$work/src/tree" "$work/dl/tree"
	row tree_get_ferry_ftps "$tree_bytes" "$(t F get -r "ftps://bench@$SRV/tree" "$work/dl/tree")" "ferry get -r ftps"
	sametree "$work/src/tree" "$work/dl/tree"
	row tree_get_ferry_ftps16 "$tree_bytes" "$(t F get -r --parallel 16 "ftps://bench@$SRV/tree" "$work/dl/tree")" "ferry get -r --parallel 16 ftps"
	sametree "$work/src/tree" "$work/dl/tree"
	row tree_get_lftp "$tree_bytes" "$(t lftp_do "mirror --parallel=4 tree $work/dl/tree")" "lftp mirror --parallel=4"
	sametree "$work/src/tree" "$work/dl/tree"
	row tree_get_ferry_https "$tree_bytes" "$(t F get -r "https://bench@$SRV/tree" "$work/dl/tree")" "ferry get -r https"
	sametree "$work/src/tree" "$work/dl/tree"
	u() { rm -rf "$home/up"; mkdir -p "$home/up"; time_of "$@"; }
	row tree_put_ferry_sftp "$tree_bytes" "$(u F put -r "$work/src/tree" "sftp://bench@$SRV/up/tree")" "ferry put -r sftp"
	sametree "$work/src/tree" "$home/up/tree"
	row tree_put_ossh "$tree_bytes" "$(u C sftp "${sshopts[@]}" -b - "bench@$SRV" <<<"put -r $work/src/tree up/tree")" "OpenSSH sftp put -r"
	sametree "$work/src/tree" "$home/up/tree"
	row tree_put_ferry_ftps "$tree_bytes" "$(u F put -r "$work/src/tree" "ftps://bench@$SRV/up/tree")" "ferry put -r ftps"
	sametree "$work/src/tree" "$home/up/tree"
	row tree_put_lftp "$tree_bytes" "$(u lftp_do "mirror -R --parallel=4 $work/src/tree up/tree")" "lftp mirror -R --parallel=4"
	sametree "$work/src/tree" "$home/up/tree"
	row tree_put_ferry_https "$tree_bytes" "$(u F put -r "$work/src/tree" "https://bench@$SRV/up/tree")" "ferry put -r https"
	sametree "$work/src/tree" "$home/up/tree"
fi

read -r idle1 total1 < <(cpu_idle)
ratio() { [ -n "${mb[$1]:-}" ] && [ -n "${mb[$2]:-}" ] && printf "  %-44s %6sx\n" "$3" "$(awk -v a="${mb[$1]}" -v b="${mb[$2]}" 'BEGIN {printf "%.2f", a / b}')"; return 0; }
link() { [ -n "${mb[$1]:-}" ] && printf "  %-44s %5s%% %5s%%\n" "$2" "$(awk -v a="${mb[$1]}" 'BEGIN {printf "%.0f", a / 125 * 100}')" "$(awk -v a="${mb[$1]}" -v p="$path4" 'BEGIN {printf "%.0f", a / p * 100}')"; return 0; }
echo "ratios:"
ratio sftp_get_ferry sftp_get_ossh "SFTP get, ferry / OpenSSH sftp (goal >= 3)"
ratio sftp_put_ferry sftp_put_ossh "SFTP put, ferry / OpenSSH sftp"
ratio ftps_get_ferry ftps_get_lftp4 "FTPS get, ferry / lftp pget -n 4 (goal >= 1)"
ratio ftps_put_ferry ftps_put_lftp "FTPS put, ferry / lftp put"
ratio https_get_ferry https_get_curl "HTTPS get, ferry / curl"
ratio https_put_ferry https_put_curl "HTTPS put, ferry / curl"
ratio tree_get_ferry_ftps tree_get_lftp "tree get, ferry ftps / lftp mirror"
ratio tree_put_ferry_ftps tree_put_lftp "tree put, ferry ftps / lftp mirror -R"
ratio tree_get_ferry_sftp tree_get_ossh "tree get, ferry sftp / OpenSSH sftp"
echo "of the link (125 MB/s) and of the path (plain TCP, 4 streams, $path4 MB/s):"
for k in sftp_get_ferry ftps_get_ferry https_get_ferry tree_get_ferry_sftp tree_get_ferry_sftp16 tree_get_ferry_ftps tree_get_ferry_https tree_put_ferry_sftp tree_put_ferry_ftps tree_put_ferry_https; do
	link "$k" "$k"
done
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg); CPU idle during the run $(awk -v i=$((idle1 - idle0)) -v t=$((total1 - total0)) 'BEGIN {printf "%.0f", i / t * 100}')% of $(nproc) cores"
