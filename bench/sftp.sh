#!/usr/bin/env bash
# SFTP throughput and memory: ferry against OpenSSH's own sftp-server.
#
# Starts `ferry serve` (SFTP only) and a private sshd (its own config,
# Subsystem sftp = OpenSSH's sftp-server) on free loopback ports, then, with
# the same OpenSSH sftp client and cipher (aes128-gcm@openssh.com), times
# `get` and `put` of one file against each, alternating, RUNS times, over one
# multiplexed connection per server (login excluded), and prints the medians
# and the ratio. Last it holds SESSIONS idle SFTP
# sessions open against each server and reports the growth of resident
# memory per session (ferry: its one process; OpenSSH: every process under
# the listening sshd).
#
# usage: bench/sftp.sh            (as root; needs sshd, sftp, ssh-keygen, go)
# env:   RUNS=5 SIZE_MIB=1024 SESSIONS=200
set -euo pipefail

RUNS=${RUNS:-5}
SIZE_MIB=${SIZE_MIB:-1024}
SESSIONS=${SESSIONS:-200}
CIPHER=aes128-gcm@openssh.com
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ferry-bench-sftp.XXXXXX)
daemons=()
groups=()
masters=() # "PORT USER" of each OpenSSH connection master
stop_masters() {
	for m in "${masters[@]}"; do
		set -- $m
		ssh -o ControlPath="$work/mux-$1" -O exit -p "$1" "$2@127.0.0.1" 2>/dev/null || true
	done
	masters=()
}
# OpenSSH runs the subsystem through the user's login shell; root's bash
# would source ~/.bashrc (Debian's bash does so under sshd), which can cost
# seconds per session. A throwaway system user with /bin/sh avoids that.
OUSER=ferry-sftp-bench
made_user=
cleanup() {
	stop_masters
	for g in "${groups[@]}"; do kill -- "-$g" 2>/dev/null || true; done
	for p in "${daemons[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "$made_user" ]; then userdel "$OUSER" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
	for _ in $(seq 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "nothing listens on port $1" >&2
	return 1
}

echo "building ferry..."
(cd "$repo" && go build -o "$work/ferry" ./cmd/ferry)

chmod 755 "$work"
mkdir -p "$work/ohome"
if ! id "$OUSER" >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir "$work/ohome" --shell /bin/sh "$OUSER"
	made_user=1
fi
usermod --home "$work/ohome" --shell /bin/sh -p '*' "$OUSER" # '*': no password, not locked
chown "$OUSER" "$work/ohome"

ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/id"
ssh-keygen -q -t ed25519 -N '' -f "$work/sshd_host_key"
cp "$work/id.pub" "$work/authorized_keys"
dd if=/dev/urandom of="$work/src.bin" bs=1M count="$SIZE_MIB" status=none
sync

# OpenSSH: a private sshd whose sftp subsystem is sftp-server.
ossh_port=$(free_port)
mkdir -p /run/sshd
cat >"$work/sshd_config" <<CONF
Port $ossh_port
ListenAddress 127.0.0.1
HostKey $work/sshd_host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
StrictModes no
UsePAM no
AllowUsers $OUSER
PasswordAuthentication no
KbdInteractiveAuthentication no
Ciphers $CIPHER
MaxStartups $((SESSIONS + 100)):30:$((SESSIONS + 200))
Subsystem sftp $SFTP_SERVER
CONF
/usr/sbin/sshd -D -f "$work/sshd_config" -E "$work/sshd.log" &
ossh_pid=$!
daemons+=("$ossh_pid")

# ferry: SFTP only, one user whose home holds the same file (a hard link).
ferry_port=$(free_port)
cat >"$work/ferry.toml" <<CONF
data_dir = "$work/ferry-data"
listen_address = "127.0.0.1"
[ftp]
enabled = false
[http]
enabled = false
[sftp]
port = $ferry_port
[limits]
max_connections = $((SESSIONS + 100))
max_connections_per_ip = $((SESSIONS + 50))
CONF
# As sshd's MaxStartups above: let every idle session log in at once.
if grep -aq max_prelogin_per_ip "$work/ferry"; then
	printf 'max_prelogin = %d\nmax_prelogin_per_ip = %d\n' $((SESSIONS + 50)) $((SESSIONS + 50)) >>"$work/ferry.toml"
fi
mkdir -p "$work/home"
ln "$work/src.bin" "$work/home/src.bin"
"$work/ferry" user add bench --key "$work/id.pub" --home "$work/home" --config "$work/ferry.toml" >/dev/null
"$work/ferry" serve --config "$work/ferry.toml" 2>"$work/ferry.log" &
ferry_pid=$!
daemons+=("$ferry_pid")
wait_port "$ossh_port"
wait_port "$ferry_port"

opts=(-F /dev/null -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR
	-o IdentityFile="$work/id" -o IdentitiesOnly=yes -o Ciphers="$CIPHER")
bytes=$((SIZE_MIB * 1048576))

# One authenticated connection per server, shared by every timed sftp run
# (OpenSSH connection multiplexing): the times then cover the SFTP session
# and the transfer, not the key exchange and login, which on a busy machine
# take sshd (a fork and re-exec per connection) seconds.
master() {
	ssh "${opts[@]}" -o ControlMaster=yes -o ControlPath="$work/mux-$1" -o ControlPersist=yes -fN -p "$1" "$2@127.0.0.1"
	masters+=("$1 $2")
}
master "$ferry_port" bench
master "$ossh_port" "$OUSER"

# xfer PORT USER COMMAND: run one sftp batch, print MB/s (10^6 bytes).
xfer() {
	local start end
	start=$(date +%s%N)
	sftp "${opts[@]}" -o ControlMaster=no -o ControlPath="$work/mux-$1" -P "$1" -b - "$2@127.0.0.1" >/dev/null <<<"$3"
	end=$(date +%s%N)
	echo "$bytes $start $end" | awk '{printf "%.1f", $1 / (($3 - $2) / 1e9) / 1e6}'
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

declare -A res
echo "ferry $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo dev) vs $(ssh -V 2>&1 | cut -d, -f1) sftp-server; $SIZE_MIB MiB, $CIPHER, $RUNS runs"
# measure KEY PORT USER COMMAND: one timed transfer, after flushing the
# previous one's dirty pages so that writeback does not land on the next.
measure() {
	sync
	res[$1]+=" $(xfer "$2" "$3" "$4")"
}

for i in $(seq "$RUNS"); do
	# Alternate who goes first, so neither server always meets a colder or
	# busier machine.
	if ((i % 2)); then order="ferry ossh"; else order="ossh ferry"; fi
	for who in $order; do
		rm -f "$work/dl.bin"
		if [ "$who" = ferry ]; then
			measure ferry_get "$ferry_port" bench "get src.bin $work/dl.bin"
		else
			measure ossh_get "$ossh_port" "$OUSER" "get $work/src.bin $work/dl.bin"
		fi
	done
	rm -f "$work/dl.bin"
	for who in $order; do
		if [ "$who" = ferry ]; then
			rm -f "$work/home/up.bin"
			measure ferry_put "$ferry_port" bench "put $work/src.bin up.bin"
		else
			rm -f "$work/ohome/up.bin"
			measure ossh_put "$ossh_port" "$OUSER" "put $work/src.bin up.bin"
		fi
	done
	cmp -s "$work/src.bin" "$work/home/up.bin" || { echo "ferry put: bytes differ" >&2; exit 1; }
	echo "run $i: get ferry ${res[ferry_get]##* } openssh ${res[ossh_get]##* }  put ferry ${res[ferry_put]##* } openssh ${res[ossh_put]##* } MB/s"
done
stop_masters
if [ "$RUNS" -gt 0 ]; then
	for dir in get put; do
		f=$(median <<<"${res[ferry_$dir]}")
		o=$(median <<<"${res[ossh_$dir]}")
		echo "$dir  median: ferry $f MB/s, OpenSSH $o MB/s, ratio $(awk -v f="$f" -v o="$o" 'BEGIN {printf "%.2f", f / o}')x"
	done
fi

# mem_tree PID: "RSS PSS" in KiB, summed over PID and all its descendants.
# PSS shares each shared page among the processes that map it, so it does
# not count the sshd binary once per session as the RSS sum does.
mem_tree() {
	local pids p
	pids=$(ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			for (p in parent)
				for (q = p; q != "" && q != 0 && q != 1; q = parent[q])
					if (q == root) { print p; break }
		}')
	for p in $pids; do
		awk '/^Rss:/ {r = $2} /^Pss:/ {s = $2} END {print r, s}' "/proc/$p/smaps_rollup" 2>/dev/null || true
	done | awk '{r += $1; s += $2} END {print r + 0, s + 0}'
}

established() { ss -Htn state established "( sport = :$1 )" | wc -l; }

# idle PORT USER: open SESSIONS SFTP sessions that send INIT and then wait.
# Each is its own process group (job control), killed by its id afterwards.
idle() {
	local known
	known=" $(jobs -p | tr '\n' ' ') "
	set -m
	for _ in $(seq "$SESSIONS"); do
		{ printf '\000\000\000\005\001\000\000\000\003'; exec sleep 600; } |
			ssh "${opts[@]}" -p "$1" -s "$2@127.0.0.1" sftp >/dev/null 2>&1 &
	done
	set +m
	for j in $(jobs -p); do
		[[ $known == *" $j "* ]] || groups+=("$j")
	done
	for _ in $(seq 600); do
		[ "$(established "$1")" -ge "$SESSIONS" ] && break
		sleep 0.1
	done
	sleep 2
}

release() {
	for g in "${groups[@]}"; do kill -- "-$g" 2>/dev/null || true; done
	wait "${groups[@]}" 2>/dev/null || true
	groups=()
	for _ in $(seq 100); do
		[ "$(established "$1")" -eq 0 ] && break
		sleep 0.1
	done
}

# per_session NAME PID PORT USER: memory growth of PID's process tree with
# SESSIONS idle sessions.
per_session() {
	local before after n
	read -r -a before <<<"$(mem_tree "$2")"
	idle "$3" "$4"
	n=$(established "$3")
	read -r -a after <<<"$(mem_tree "$2")"
	release "$3"
	echo "$1: $n idle SFTP sessions; RSS ${before[0]} -> ${after[0]} KiB, $(((after[0] - before[0]) * 1024 / n)) bytes/session; PSS ${before[1]} -> ${after[1]} KiB, $(((after[1] - before[1]) * 1024 / n)) bytes/session"
}

if [ "$SESSIONS" -gt 0 ]; then
	# A fresh ferry, so that memory freed after the transfers does not
	# hide the sessions' cost; one session first warms it up.
	kill "$ferry_pid"
	wait "$ferry_pid" || true
	"$work/ferry" serve --config "$work/ferry.toml" 2>>"$work/ferry.log" &
	ferry_pid=$!
	daemons+=("$ferry_pid")
	wait_port "$ferry_port"
	sftp "${opts[@]}" -P "$ferry_port" -b - bench@127.0.0.1 >/dev/null <<<"ls"
	sleep 1
	per_session "ferry  " "$ferry_pid" "$ferry_port" bench
	per_session "OpenSSH (sshd + sftp-server processes)" "$ossh_pid" "$ossh_port" "$OUSER"
fi
