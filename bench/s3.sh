#!/usr/bin/env bash
# bench/s3.sh: one ferry node, two users: one whose home is on the local disk
# and one whose home is on S3 (versitygw's posix backend, on the same tmpfs so
# that only the S3 path differs). 1 GiB STOR and RETR over plain FTP, driven
# by curl, RUNS runs each; prints the median MB/s of both and the ratio
# s3/disk per row, then ferry's peak RSS (VmHWM) over the whole run: with
# S3 an upload holds 2 parts + 4 MiB, whatever the file's size. Needs curl
# (7.75+, for --aws-sigv4), python3 and versitygw (.ci/run installs it).
#
#   bench/s3.sh                    # RUNS=3 SIZE_MIB=1024 by default
#   RUNS=1 SIZE_MIB=128 bench/s3.sh
#
# Where the time goes with S3: every part is hashed twice on ferry's side
# (SHA-256 to sign the request over plain HTTP) and once more by the gateway
# (MD5 for the ETag), then the gateway concatenates the parts on Complete;
# a download is one ranged GET streamed through.
set -euo pipefail

RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
PASS=bench-password-$RANDOM-$RANDOM
KEY=ferrybench SECRET=ferrybench-secret-$RANDOM
cd "$(dirname "$0")/.."

for p in curl python3 versitygw; do
  command -v "$p" >/dev/null || { echo "bench/s3.sh: $p is not installed (.ci/run installs the peers)" >&2; exit 1; }
done

WORK=$(mktemp -d /dev/shm/ferry-bench-s3.XXXXXX)
. bench/lib.sh

echo "building ferry..."
go build -o "$WORK/ferry" ./cmd/ferry

S3_PORT=$(free_port)
mkdir -p "$WORK/s3"
versitygw --access "$KEY" --secret "$SECRET" --port "127.0.0.1:$S3_PORT" --quiet posix "$WORK/s3" >"$WORK/versitygw.log" 2>&1 &
PIDS+=($!)
wait_port "$S3_PORT"
curl -sSf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" -X PUT \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "http://127.0.0.1:$S3_PORT/bench" >/dev/null

SRC=$WORK/src.bin
head -c $((SIZE_MIB << 20)) /dev/urandom >"$SRC"

FERRY_PORT=$(free_port)
mkdir -p "$WORK/ferry-data" "$WORK/ferry-home"
cat >"$WORK/ferry.toml" <<TOML
data_dir = "$WORK/ferry-data"
listen_address = "127.0.0.1"
audit_log = ""
[ftp]
port = $FERRY_PORT
implicit_port = 0
tls = "off"
passive_ports = "43000-43099"
[sftp]
enabled = false
[http]
enabled = false
[s3]
access_key = "$KEY"
secret_key = "$SECRET"
TOML
echo "$PASS" | "$WORK/ferry" user add disk --password-stdin --home "$WORK/ferry-home" --config "$WORK/ferry.toml" >/dev/null
echo "$PASS" | "$WORK/ferry" user add s3 --password-stdin --config "$WORK/ferry.toml" \
  --home "s3://bench/s3?endpoint=127.0.0.1:$S3_PORT&secure=false" >/dev/null
"$WORK/ferry" serve --config "$WORK/ferry.toml" >"$WORK/ferry.log" 2>&1 &
FERRY_PID=$!
PIDS+=($FERRY_PID)
wait_port "$FERRY_PORT"

# measure USER DIRECTION(get|put): prints MB/s of one run.
measure() {
  local url="ftp://127.0.0.1:$FERRY_PORT/bench.bin" speed
  if [ "$2" = put ]; then
    speed=$(curl -sS -u "$1:$PASS" -T "$SRC" -w '%{speed_upload}' "$url")
  else
    speed=$(curl -sS -u "$1:$PASS" -o /dev/null -w '%{speed_download}' "$url")
  fi
  awk -v s="$speed" 'BEGIN { printf "%.0f\n", s / 1e6 }'
}


printf '\n%d MiB file, %d runs each, median MB/s over plain FTP (curl)\n\n' "$SIZE_MIB" "$RUNS"
printf '%-22s %10s %10s %8s\n' "row" "disk" "s3" "s3/disk"
for dir in put get; do
  d=() s=()
  for _ in $(seq "$RUNS"); do # alternate so that drift hits both alike
    d+=("$(measure disk "$dir")")
    s+=("$(measure s3 "$dir")")
  done
  dm=$(printf '%s\n' "${d[@]}" | median)
  sm=$(printf '%s\n' "${s[@]}" | median)
  printf '%-22s %10s %10s %8s   (disk runs: %s; s3 runs: %s)\n' "STOR/RETR $dir" "$dm" "$sm" \
    "$(awk -v a="$sm" -v b="$dm" 'BEGIN { printf "%.2f", a / b }')" "${d[*]}" "${s[*]}"
done
printf '\nferry peak RSS over the run: %s\n' "$(awk '/VmHWM/ { print $2, $3 }' /proc/$FERRY_PID/status)"
