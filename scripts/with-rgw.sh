#!/usr/bin/env bash
# Usage: scripts/with-rgw.sh COMMAND [ARG…]
#
# Starts a throwaway S3 server: Ceph's RADOS Gateway on one monitor and one
# in-memory (memstore) OSD, everything in a temporary directory and on
# 127.0.0.1 only, auth off. Creates the user `fxe-test` with fixed test keys
# and the bucket `fxe-test`, runs COMMAND with
#   FXE_TEST_BLOB_STORE=s3://fxe-test/run  FXE_S3_ENDPOINT=http://127.0.0.1:PORT
#   AWS_ACCESS_KEY_ID=…  AWS_SECRET_ACCESS_KEY=…  AWS_REGION=us-east-1
# and always stops the gateway (before the monitor: it hangs on exit
# otherwise), the OSD and the monitor and deletes the directory afterwards.
# Exits with COMMAND's status. Needs `bash scripts/install-tools.sh --rgw`.
set -euo pipefail

if [ "$#" -lt 1 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "with-rgw: $tool not found (run: bash scripts/install-tools.sh --rgw)" >&2
    exit 1
  fi
done

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

access_key=fxetestaccesskey00001
secret_key=fxetestsecretkey0000000000000000000000001
bucket=fxe-test
dir=$(mktemp -d "${TMPDIR:-/tmp}/fxe-rgw.XXXXXX")
mon_port=$(free_port)
rgw_port=$(free_port)
mon_pid=; osd_pid=; rgw_pid=

# Stops a daemon: TERM, up to 20 s, then KILL.
stop_daemon() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  # The gateway first: with the monitor gone it never exits.
  stop_daemon "$rgw_pid"
  stop_daemon "$osd_pid"
  stop_daemon "$mon_pid"
  if [ "$status" != 0 ] && [ -n "${FXE_RGW_KEEP_LOGS:-}" ]; then
    cp -r "$dir/log" "$FXE_RGW_KEEP_LOGS" 2>/dev/null || true
  fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "with-rgw: $*" >&2
  tail -n 15 "$dir"/log/*.log >&2 2>/dev/null || true
  exit 1
}

started=$(date +%s.%N)
fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
mkdir -p "$dir"/{run,log,mon,osd}
conf="$dir/ceph.conf"
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
mon initial members = a
public addr = 127.0.0.1
auth cluster required = none
# A throwaway cluster on a shared disk: never refuse to start because the disk is nearly full.
mon data avail crit = 0
mon data avail warn = 0
auth service required = none
auth client required = none
# With auth off every messenger must agree on crc, or clients loop on
# "get_initial_auth_request returned -13".
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon client mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon allow pool delete = true

[client.rgw.fxe]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
EOF
ceph_c=(-c "$conf")

monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
ceph-mon "${ceph_c[@]}" --mkfs -i a --monmap "$dir/monmap" >"$dir/log/mkfs-mon.out" 2>&1 ||
  fail "ceph-mon --mkfs failed: $(cat "$dir/log/mkfs-mon.out")"
ceph-mon "${ceph_c[@]}" -i a -f >"$dir/log/mon.out" 2>&1 &
mon_pid=$!

osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
osd_id=$(timeout 60 ceph "${ceph_c[@]}" --connect-timeout 30 osd new "$osd_uuid") || fail "ceph osd new failed"
mkdir -p "$dir/osd/ceph-$osd_id"
ceph-osd "${ceph_c[@]}" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$dir/log/mkfs-osd.out" 2>&1 ||
  fail "ceph-osd --mkfs failed: $(tail -n 20 "$dir/log/mkfs-osd.out")"
ceph-osd "${ceph_c[@]}" -i "$osd_id" -f >"$dir/log/osd.out" 2>&1 &
osd_pid=$!

radosgw "${ceph_c[@]}" -n client.rgw.fxe -f >"$dir/log/rgw.out" 2>&1 &
rgw_pid=$!

endpoint="http://127.0.0.1:$rgw_port"
ready=0
for _ in $(seq 1 240); do
  kill -0 "$rgw_pid" 2>/dev/null || fail "radosgw exited: $(tail -n 20 "$dir/log/rgw.out")"
  if curl -fsS -o /dev/null "$endpoint/" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.5
done
[ "$ready" = 1 ] || fail "radosgw did not answer on $endpoint within 120 s"

timeout 60 radosgw-admin "${ceph_c[@]}" user create --uid=fxe-test --display-name=fxe-test \
  --access-key="$access_key" --secret-key="$secret_key" >"$dir/log/user.out" 2>&1 ||
  fail "radosgw-admin user create failed: $(cat "$dir/log/user.out")"
# RGW wants the payload hash header; this is the SHA-256 of the empty body.
curl -fsS --aws-sigv4 "aws:amz:us-east-1:s3" -u "$access_key:$secret_key" \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
  -X PUT "$endpoint/$bucket" >/dev/null || fail "cannot create the bucket $bucket"

export FXE_TEST_BLOB_STORE="s3://$bucket/run"
export FXE_S3_ENDPOINT="$endpoint"
export AWS_ACCESS_KEY_ID="$access_key"
export AWS_SECRET_ACCESS_KEY="$secret_key"
export AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT AWS_ENDPOINT_URL 2>/dev/null || true
echo "with-rgw: RADOS Gateway $(radosgw --version | awk '{print $3}') on $endpoint, bucket $bucket," \
  "ready in $(python3 -c "import time; print(f'{time.time() - $started:.1f}')") s" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
