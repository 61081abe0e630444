#!/usr/bin/env bash
# bench/cluster.sh: what the balancer costs. One ferry node on loopback with
# the PROXY protocol from 127.0.0.1 (required = false, so a direct client is
# served too) and HAProxy in TCP mode in front of it on 127.0.0.2, sending
# PROXY v2 headers, as `ferry firewall --cluster --format haproxy` writes.
# SIZE_MIB (1 GiB) up and down over HTTPS (curl, PUT and GET of the REST API)
# and SFTP (OpenSSH sftp), RUNS runs each alternating direct and through
# HAProxy; prints the median MB/s of both and the ratio balancer/direct.
# S3 storage against the local disk on one node is bench/s3.sh.
#
#   bench/cluster.sh                      # RUNS=3 SIZE_MIB=1024
#   RUNS=1 SIZE_MIB=256 bench/cluster.sh
#
# Where the time goes through the balancer: every byte crosses HAProxy's two
# sockets (a splice where the kernel allows), and behind it ferry loses its
# splice(2) upload path, since the PROXY header is read through a buffer.
set -euo pipefail

RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
PASS=bench-password-$RANDOM-$RANDOM
cd "$(dirname "$0")/.."

for p in curl python3 haproxy sftp sshpass; do
  command -v "$p" >/dev/null || { echo "bench/cluster.sh: $p is not installed (.ci/run installs the peers)" >&2; exit 1; }
done

WORK=$(mktemp -d /dev/shm/ferry-bench-cluster.XXXXXX)
. bench/lib.sh

echo "building ferry..."
go build -o "$WORK/ferry" ./cmd/ferry
SRC=$WORK/src.bin
head -c $((SIZE_MIB << 20)) /dev/urandom >"$SRC"

HTTPS=$(free_port) SFTP=$(free_port)
mkdir -p "$WORK/ferry-data"
cat >"$WORK/ferry.toml" <<TOML
data_dir = "$WORK/ferry-data"
listen_address = "127.0.0.1"
audit_log = ""
[ftp]
enabled = false
[sftp]
port = $SFTP
[http]
port = 0
https_port = $HTTPS
[proxy_protocol]
trusted = ["127.0.0.1"]
TOML
echo "$PASS" | "$WORK/ferry" user add bench --password-stdin --config "$WORK/ferry.toml" >/dev/null
"$WORK/ferry" serve --config "$WORK/ferry.toml" >"$WORK/ferry.log" 2>&1 &
PIDS+=($!)
wait_port "$HTTPS"

cat >"$WORK/haproxy.cfg" <<CFG
global
	maxconn 1000
defaults
	mode tcp
	timeout connect 5s
	timeout client 300s
	timeout server 300s
frontend https
	bind 127.0.0.2:$HTTPS
	default_backend https
backend https
	server n 127.0.0.1:$HTTPS send-proxy-v2
frontend sftp
	bind 127.0.0.2:$SFTP
	default_backend sftp
backend sftp
	server n 127.0.0.1:$SFTP send-proxy-v2
CFG
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!)
wait_port "$HTTPS" 127.0.0.2

mbps() { awk -v b=$((SIZE_MIB << 20)) -v s="$1" 'BEGIN { printf "%.0f\n", b / s / 1e6 }'; }
# measure HOST PROTO DIRECTION: MB/s of one run. Direct clients come from
# 127.0.0.4 (not trusted: served at once), those of the balancer from
# 127.0.0.3, which ferry must log as theirs.
measure() {
  local host=$1 src=127.0.0.4 t0 t1
  [ "$host" = 127.0.0.2 ] && src=127.0.0.3
  t0=$(date +%s.%N)
  case "$2/$3" in
  https/put) curl -sSfk --interface "$src" -u "bench:$PASS" -T "$SRC" -o /dev/null "https://$host:$HTTPS/api/v1/files/bench.bin" ;;
  https/get) curl -sSfk --interface "$src" -u "bench:$PASS" -o /dev/null "https://$host:$HTTPS/api/v1/files/bench.bin" ;;
  sftp/put) sshpass -p "$PASS" sftp -q -o BindAddress="$src" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -P "$SFTP" \
    "bench@$host" <<<"put $SRC bench.bin" >/dev/null ;;
  sftp/get) sshpass -p "$PASS" sftp -q -o BindAddress="$src" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -P "$SFTP" \
    "bench@$host:bench.bin" /dev/null >/dev/null ;;
  esac
  t1=$(date +%s.%N)
  mbps "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

printf '\n%d MiB file, %d runs each, median MB/s\n\n' "$SIZE_MIB" "$RUNS"
printf '%-12s %10s %10s %10s\n' "row" "direct" "haproxy" "lb/direct"
for proto in https sftp; do
  for dir in put get; do
    d=() h=()
    for _ in $(seq "$RUNS"); do
      d+=("$(measure 127.0.0.1 "$proto" "$dir")")
      h+=("$(measure 127.0.0.2 "$proto" "$dir")")
    done
    dm=$(printf '%s\n' "${d[@]}" | median)
    hm=$(printf '%s\n' "${h[@]}" | median)
    printf '%-12s %10s %10s %10s   (direct: %s; haproxy: %s)\n' "$proto $dir" "$dm" "$hm" \
      "$(awk -v a="$hm" -v b="$dm" 'BEGIN { printf "%.2f", a / b }')" "${d[*]}" "${h[*]}"
  done
done
if ! grep -q "remote=127.0.0.3" "$WORK/ferry.log"; then
  echo "bench/cluster.sh: ferry's log names no client 127.0.0.3: the PROXY header did not reach it" >&2
  exit 1
fi
