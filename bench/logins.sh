#!/usr/bin/env bash
# Memory of a login storm: ferry's resident memory while LOGINS explicit-FTPS
# logins arrive at once (Python's ftplib, one thread each), and how much of
# it the process has given back after IDLE seconds. Password checks are
# argon2id with 19 MiB each, so an unbounded server holds LOGINS x 19 MiB at
# the peak; ferry bounds them with limits.password_hashes.
#
# usage: bench/logins.sh          (needs go, python3)
# env:   LOGINS=200 IDLE=120 FERRY=path/to/ferry (default: built from this tree)
set -euo pipefail

LOGINS=${LOGINS:-200}
IDLE=${IDLE:-120}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ferry-bench-logins.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

ferry=${FERRY:-}
if [ -z "$ferry" ]; then
	ferry=$work/ferry
	(cd "$repo" && go build -o "$ferry" ./cmd/ferry)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/ferry.toml" <<TOML
data_dir = "$work/data"
listen_address = "127.0.0.1"
[ftp]
port = $port
implicit_port = 0
passive_ports = "43000-43099"
active = false
[sftp]
enabled = false
[http]
enabled = false
[limits]
max_connections_per_ip = $((LOGINS + 10))
TOML
# Enough room for the storm from one address: the point is memory, not
# the per-address limits.
if grep -aq max_prelogin_per_ip "$ferry"; then
	printf 'max_prelogin = %d\nmax_prelogin_per_ip = %d\n' $((LOGINS + 10)) $((LOGINS + 10)) >>"$work/ferry.toml"
fi
printf '[lockout]\nmax_failures = 0\n' >>"$work/ferry.toml"
echo bench-password | "$ferry" user add bench --password-stdin --config "$work/ferry.toml" >/dev/null
"$ferry" serve --config "$work/ferry.toml" >"$work/ferry.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

rss() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$pid/status"; }
hwm() { awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$pid/status"; }
echo "idle before: $(rss) MB"
python3 - "$port" "$LOGINS" <<'PY'
import ftplib, ssl, sys, threading, time
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ok, failed, lock = [0], [], threading.Lock()
go = threading.Barrier(n)
def one():
    try:
        f = ftplib.FTP_TLS(context=ctx, timeout=60)
        f.connect("127.0.0.1", port)
        go.wait()
        f.login("bench", "bench-password")
        f.quit()
        with lock: ok[0] += 1
    except Exception as e:
        with lock: failed.append(str(e)[:80])
t0 = time.time()
ts = [threading.Thread(target=one) for _ in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
print(f"{ok[0]} of {n} logins in {time.time()-t0:.1f} s; failures: {sorted(set(failed))[:3]}")
PY
echo "peak during the storm (VmHWM): $(hwm) MB; right after: $(rss) MB"
last=0
for s in 5 30 60 90 120; do
	[ "$s" -le "$IDLE" ] || break
	sleep $((s - last))
	last=$s
	echo "after ${s} s idle: $(rss) MB"
done
