#!/usr/bin/env bash
# bench/ftp.sh: ferry's FTP server against vsftpd (Debian's package), side by
# side on loopback: 1 GiB RETR and STOR over plain FTP and over explicit FTPS
# with PROT P, driven by curl, RUNS runs each; prints the median MB/s of both
# servers and the ratio ferry/vsftpd per row. Needs root (it adds a system
# user for vsftpd), curl, openssl and vsftpd.
#
#   bench/ftp.sh                 # RUNS=5 SIZE_MIB=1024 by default
#   RUNS=3 SIZE_MIB=256 bench/ftp.sh
#   ROWS="plain put" bench/ftp.sh  # only some rows: "plain put", "plain get", "tls put", "tls get"
#
# Files live in /dev/shm so that the disk does not limit either server.
set -euo pipefail

RUNS=${RUNS:-5}
ROWS=${ROWS:-plain put|plain get|tls put|tls get}
SIZE_MIB=${SIZE_MIB:-1024}
BENCH_USER=ferrybench
PASS=bench-password-$RANDOM-$RANDOM
cd "$(dirname "$0")/.."

for p in curl openssl vsftpd; do
  command -v "$p" >/dev/null || { echo "bench/ftp.sh: $p is not installed (apt-get install -y $p)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/ftp.sh: run as root (vsftpd needs a system user)" >&2; exit 1; }

WORK=$(mktemp -d /dev/shm/ferry-bench.XXXXXX)
chmod 755 "$WORK" # vsftpd runs the session as the bench user
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  userdel "$BENCH_USER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free port: bind :0 in Python and report what the kernel chose.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench/ftp.sh: nothing listens on port $1" >&2; exit 1
}

echo "building ferry..."
go build -o "$WORK/ferry" ./cmd/ferry

# One RSA certificate for both servers, so the TLS work is the same.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

SRC=$WORK/src.bin
head -c $((SIZE_MIB << 20)) /dev/urandom >"$SRC"

# --- ferry: explicit FTPS optional, so plain FTP works on the same port ---
FERRY_PORT=$(free_port)
mkdir -p "$WORK/ferry-data" "$WORK/ferry-home"
cat >"$WORK/ferry.toml" <<TOML
data_dir = "$WORK/ferry-data"
listen_address = "127.0.0.1"
[ftp]
port = $FERRY_PORT
implicit_port = 0
tls = "optional"
passive_ports = "41000-41099"
active_source_port = 0
[sftp]
enabled = false
[http]
enabled = false
[tls]
cert_file = "$WORK/cert.pem"
key_file = "$WORK/key.pem"
TOML
echo "$PASS" | "$WORK/ferry" user add "$BENCH_USER" --password-stdin --home "$WORK/ferry-home" --config "$WORK/ferry.toml" >/dev/null
"$WORK/ferry" serve --config "$WORK/ferry.toml" >"$WORK/ferry.log" 2>&1 &
PIDS+=($!)

# --- vsftpd: the same, TLS allowed but not forced, session reuse on ---
VS_PORT=$(free_port)
mkdir -p "$WORK/vsftpd-home" /var/run/vsftpd/empty
useradd -M -d "$WORK/vsftpd-home" -s /bin/bash "$BENCH_USER" 2>/dev/null || true
echo "$BENCH_USER:$PASS" | chpasswd
chown "$BENCH_USER" "$WORK/vsftpd-home"
cat >"$WORK/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$VS_PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pasv_min_port=42000
pasv_max_port=42099
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
ssl_enable=YES
rsa_cert_file=$WORK/cert.pem
rsa_private_key_file=$WORK/key.pem
force_local_logins_ssl=NO
force_local_data_ssl=NO
require_ssl_reuse=YES
xferlog_enable=NO
CONF
vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.log" 2>&1 &
PIDS+=($!)

wait_port "$FERRY_PORT"
wait_port "$VS_PORT"

# One cipher for both servers: left to itself curl negotiates AES-256-GCM
# with vsftpd but AES-128-GCM with ferry (Go's preference), which is not a
# fair race. ../shared/LAB.md has the measurement.
CIPHERS=(--ciphers ECDHE-RSA-AES128-GCM-SHA256 --tls13-ciphers TLS_AES_128_GCM_SHA256)

# measure SERVER-PORT MODE(plain|tls) DIRECTION(get|put): prints MB/s of one run.
measure() {
  local port=$1 mode=$2 dir=$3 tls=() speed
  [ "$mode" = tls ] && tls=(--ssl-reqd -k "${CIPHERS[@]}")
  local url="ftp://127.0.0.1:$port/bench.bin"
  if [ "$dir" = put ]; then
    speed=$(curl -sS "${tls[@]}" -u "$BENCH_USER:$PASS" -T "$SRC" -w '%{speed_upload}' "$url")
  else
    speed=$(curl -sS "${tls[@]}" -u "$BENCH_USER:$PASS" -o /dev/null -w '%{speed_download}' "$url")
  fi
  awk -v s="$speed" 'BEGIN { printf "%.0f\n", s / 1e6 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

printf '\n%d MiB file, %d runs each, median MB/s (curl %s)\n\n' "$SIZE_MIB" "$RUNS" "$(curl --version | awk 'NR==1 { print $2 }')"
printf '%-28s %10s %10s %8s\n' "row" "ferry" "vsftpd" "ratio"
for row in "plain put:FTP STOR (upload)" "plain get:FTP RETR (download)" "tls put:FTPS PROT P STOR (upload)" "tls get:FTPS PROT P RETR (download)"; do
  spec=${row%%:*} label=${row#*:}
  [[ "|$ROWS|" == *"|$spec|"* ]] || continue
  mode=${spec% *} dir=${spec#* }
  f=() v=()
  # Alternate the servers run by run so that drift hits both alike.
  for _ in $(seq "$RUNS"); do
    f+=("$(measure "$FERRY_PORT" "$mode" "$dir")")
    v+=("$(measure "$VS_PORT" "$mode" "$dir")")
  done
  fm=$(printf '%s\n' "${f[@]}" | median)
  vm=$(printf '%s\n' "${v[@]}" | median)
  printf '%-28s %10s %10s %8s   (ferry runs: %s; vsftpd runs: %s)\n' "$label" "$fm" "$vm" \
    "$(awk -v a="$fm" -v b="$vm" 'BEGIN { printf "%.2f", a / b }')" "${f[*]}" "${v[*]}"
done
