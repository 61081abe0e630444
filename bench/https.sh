#!/usr/bin/env bash
# HTTPS throughput: ferry against Debian's nginx on loopback, same
# certificate, same 1 GiB file, curl as the client. Each run downloads and
# uploads the file once per server; the medians and ferry/nginx ratios are
# printed at the end. Both servers run in this script's scratch directory
# and are stopped on exit.
#
#   bench/https.sh            # 5 runs, 1 GiB, HTTP/1.1
#   RUNS=3 SIZE_MB=256 HTTP=--http2 bench/https.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-1024}
HTTP=${HTTP:---http1.1}
for p in go curl nginx python3; do
	command -v "$p" >/dev/null || { echo "bench/https.sh: $p is not installed" >&2; exit 1; }
done

work=$(mktemp -d /tmp/ferry-bench-https.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== build ferry"
go build -o "$work/ferry" ./cmd/ferry

ferry_https=$(free_port)
ferry_http=$(free_port)
nginx_https=$(free_port)
while [ "$ferry_http" = "$ferry_https" ]; do ferry_http=$(free_port); done
while [ "$nginx_https" = "$ferry_https" ] || [ "$nginx_https" = "$ferry_http" ]; do nginx_https=$(free_port); done

mkdir -p "$work/data" "$work/home" "$work/www/up" "$work/nginx"
cat >"$work/ferry.toml" <<TOML
data_dir = "$work/data"
listen_address = "127.0.0.1"
[ftp]
enabled = false
[sftp]
enabled = false
[http]
port = $ferry_http
https_port = $ferry_https
TOML

echo "== test file: $SIZE_MB MiB of random bytes"
head -c "$((SIZE_MB << 20))" /dev/urandom >"$work/home/big.bin"
ln "$work/home/big.bin" "$work/www/big.bin"

printf 'bench-password\n' | "$work/ferry" user add bench --password-stdin --home "$work/home" --config "$work/ferry.toml" >/dev/null
"$work/ferry" serve --config "$work/ferry.toml" >"$work/ferry.log" 2>&1 &
pids+=($!)

# Wait for ferry (it generates the certificate nginx then shares).
for _ in $(seq 100); do
	curl -s -o /dev/null --cacert "$work/data/tls-cert.pem" "https://127.0.0.1:$ferry_https/login" && break
	sleep 0.1
done
[ -s "$work/data/tls-cert.pem" ] || { echo "ferry did not start:" >&2; cat "$work/ferry.log" >&2; exit 1; }
cert=$work/data/tls-cert.pem
key=$work/data/tls-key.pem

cat >"$work/nginx/nginx.conf" <<NGINX
user root;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
daemon off;
events { worker_connections 64; }
http {
	access_log off;
	sendfile on;
	client_body_temp_path $work/www/tmp;
	proxy_temp_path $work/nginx/proxy;
	fastcgi_temp_path $work/nginx/fastcgi;
	uwsgi_temp_path $work/nginx/uwsgi;
	scgi_temp_path $work/nginx/scgi;
	server {
		listen 127.0.0.1:$nginx_https ssl http2;
		ssl_certificate $cert;
		ssl_certificate_key $key;
		ssl_protocols TLSv1.2 TLSv1.3;
		root $work/www;
		location /up/ {
			dav_methods PUT;
			client_max_body_size 0;
			create_full_put_path on;
		}
	}
}
NGINX
mkdir -p "$work/www/tmp"
nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
pids+=($!)
up() { curl -s -o /dev/null --cacert "$cert" -r 0-0 "$1"; }
for _ in $(seq 100); do up "https://127.0.0.1:$nginx_https/big.bin" && break; sleep 0.1; done
up "https://127.0.0.1:$nginx_https/big.bin" || { echo "nginx did not start:" >&2; cat "$work/nginx/error.log" >&2; exit 1; }

token=$(curl -sS --fail --cacert "$cert" -u bench:bench-password -X POST "https://127.0.0.1:$ferry_https/api/v1/token" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
auth=(-H "Authorization: Bearer $token")
# One cipher for both servers: left to itself curl negotiates AES-256-GCM
# with nginx but AES-128-GCM with ferry (Go's preference).
c=(curl -sS --fail "$HTTP" --cacert "$cert" -o /dev/null --ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256 --tls13-ciphers TLS_AES_128_GCM_SHA256)

# speed prints the transfer's bytes per second as MB/s (10^6 bytes).
mbps() { python3 -c "print(f'{$1/1e6:.0f}')"; }

ferry_down() { "${c[@]}" "${auth[@]}" -w '%{speed_download}' "https://127.0.0.1:$ferry_https/api/v1/files/big.bin"; }
nginx_down() { "${c[@]}" -w '%{speed_download}' "https://127.0.0.1:$nginx_https/big.bin"; }
ferry_up() { "${c[@]}" "${auth[@]}" -w '%{speed_upload}' -T "$work/home/big.bin" "https://127.0.0.1:$ferry_https/api/v1/files/up.bin"; }
nginx_up() { "${c[@]}" -w '%{speed_upload}' -T "$work/home/big.bin" "https://127.0.0.1:$nginx_https/up/up.bin"; }

declare -A results
for run in $(seq "$RUNS"); do
	# Alternate which server goes first, so drifting load on the machine
	# does not favour one of them.
	if [ $((run % 2)) = 1 ]; then
		fd=$(ferry_down) nd=$(nginx_down) fu=$(ferry_up) nu=$(nginx_up)
	else
		nd=$(nginx_down) fd=$(ferry_down) nu=$(nginx_up) fu=$(ferry_up)
	fi
	results[fd]+="$fd " results[nd]+="$nd " results[fu]+="$fu " results[nu]+="$nu "
	printf 'run %d: download ferry %s nginx %s MB/s; upload ferry %s nginx %s MB/s\n' "$run" \
		"$(mbps "$fd")" "$(mbps "$nd")" "$(mbps "$fu")" "$(mbps "$nu")"
done
cmp -s "$work/home/up.bin" "$work/home/big.bin" || { echo "ferry stored a different upload" >&2; exit 1; }
cmp -s "$work/www/up/up.bin" "$work/home/big.bin" || { echo "nginx stored a different upload" >&2; exit 1; }

python3 - "${results[fd]}" "${results[nd]}" "${results[fu]}" "${results[nu]}" "$RUNS" "$SIZE_MB" "$HTTP" <<'PY'
import statistics, sys
fd, nd, fu, nu = ([float(x) for x in a.split()] for a in sys.argv[1:5])
m = lambda v: statistics.median(v) / 1e6
print(f"\nmedian of {sys.argv[5]} runs, {sys.argv[6]} MiB over HTTPS ({sys.argv[7]}), curl on loopback")
pair = lambda f, n: statistics.median(a / b for a, b in zip(f, n))
print(f"{'':10}{'ferry MB/s':>12}{'nginx MB/s':>12}{'ferry/nginx':>13}{'median of run ratios':>22}")
print(f"{'download':10}{m(fd):12.0f}{m(nd):12.0f}{m(fd)/m(nd):13.2f}{pair(fd, nd):22.2f}")
print(f"{'upload':10}{m(fu):12.0f}{m(nu):12.0f}{m(fu)/m(nu):13.2f}{pair(fu, nu):22.2f}")
PY
