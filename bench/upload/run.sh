#!/usr/bin/env bash
# Upload benchmark: 10,000 files of 20-200 KB to one versitygw on 127.0.0.1,
# with sagetrain upload, aws s3 cp --recursive (aws-cli v2) and rclone copy
# (default settings), one after the other in one run; then sagetrain's
# re-upload of the unchanged set. Writes bench/results/upload.md.
#
#   bench/upload/run.sh                 # N=10000 ROUNDS=2
#   N=2000 ROUNDS=3 bench/upload/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
ROUNDS=${ROUNDS:-2}
WORKERS=${WORKERS:-32}
AWS=${AWS_CLI:-/usr/bin/aws}   # the Debian aws-cli v2, not a pyenv shim
WORK=${WORK:-$(mktemp -d /tmp/sagetrain-bench-upload.XXXXXX)}
OUT=${OUT:-$ROOT/bench/results/upload.md}
mkdir -p "$WORK/bin"

VGW=$(command -v versitygw || echo "$HOME/go/bin/versitygw")
[ -x "$VGW" ] || { echo "versitygw not found (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)"; exit 1; }
command -v rclone >/dev/null || { echo "rclone not found"; exit 1; }
[ -x "$AWS" ] || { echo "$AWS not found"; exit 1; }

echo "building into $WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/sagetrain" ./cmd/sagetrain && go build -o "$WORK/bin/gen" ./bench/upload/gen)

SET="$WORK/set-$N"
if [ ! -f "$SET/metadata.csv" ]; then
  echo "generating $N files in $SET"
  "$WORK/bin/gen" -n "$N" -dir "$SET"
fi
FILES=$(find "$SET" -type f | wc -l)
BYTES=$(du -sb "$SET" | cut -f1)

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/vgw/data" "$WORK/vgw/iam"
export AWS_ACCESS_KEY_ID=benchaccess AWS_SECRET_ACCESS_KEY=benchsecretkey AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
ENDPOINT=http://127.0.0.1:$PORT
ROOT_ACCESS_KEY=$AWS_ACCESS_KEY_ID ROOT_SECRET_KEY=$AWS_SECRET_ACCESS_KEY \
  "$VGW" --port 127.0.0.1:$PORT --iam-dir "$WORK/vgw/iam" --region us-east-1 --quiet posix "$WORK/vgw/data" >"$WORK/vgw.log" 2>&1 &
VGW_PID=$!
trap 'kill $VGW_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
"$AWS" --endpoint-url "$ENDPOINT" s3 mb s3://bench >/dev/null

# Warm the page cache so that no tool pays for the first read from disk.
find "$SET" -type f -exec cat {} + >/dev/null

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2-$1:.2f}')"; }
declare -A T
run() { # name, command...
  local name=$1; shift
  local t0 t1; t0=$(now); "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || { echo "$name failed:"; cat "$WORK/$name.err"; exit 1; }; t1=$(now)
  T[$name]="${T[$name]:-} $(secs "$t0" "$t1")"
  echo "$name: $(secs "$t0" "$t1") s"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ours() {
  # sagetrain with a fresh hash cache: hashing every file is part of its time.
  run sagetrain env AWS_ENDPOINT_URL_S3="$ENDPOINT" "$WORK/bin/sagetrain" upload "$SET" --plain --workers "$WORKERS" \
      --to "s3://bench/sagetrain-$1" --cache-dir "$WORK/cache-$1"
  run reupload env AWS_ENDPOINT_URL_S3="$ENDPOINT" "$WORK/bin/sagetrain" upload "$SET" --plain --workers "$WORKERS" \
      --to "s3://bench/sagetrain-$1" --cache-dir "$WORK/cache-$1"
}
awscli() { run aws "$AWS" --endpoint-url "$ENDPOINT" s3 cp --recursive --only-show-errors "$SET" "s3://bench/aws-$1"; }
rcl() {
  # rclone 1.60's SDK cannot load AWS_CA_BUNDLE with its own transport: unset it for rclone.
  run rclone env -u AWS_CA_BUNDLE rclone copy "$SET" \
      ":s3,provider=Other,access_key_id=$AWS_ACCESS_KEY_ID,secret_access_key=$AWS_SECRET_ACCESS_KEY,endpoint='$ENDPOINT',region=us-east-1:bench/rclone-$1"
}
for r in $(seq "$ROUNDS"); do
  # The order rotates from round to round, so that no tool always meets the
  # same moment of a shared machine.
  case $(( (r - 1) % 3 )) in
    0) ours "$r"; awscli "$r"; rcl "$r" ;;
    1) awscli "$r"; rcl "$r"; ours "$r" ;;
    2) rcl "$r"; ours "$r"; awscli "$r" ;;
  esac
done
# sagetrain with the trainer's checks (metadata matched, every PNG decoded), once.
run checked env AWS_ENDPOINT_URL_S3="$ENDPOINT" "$WORK/bin/sagetrain" upload "$SET" --workers "$WORKERS" \
    --to "s3://bench/checked-1" --cache-dir "$WORK/cache-checked-1"
run checked_reupload env AWS_ENDPOINT_URL_S3="$ENDPOINT" "$WORK/bin/sagetrain" upload "$SET" --workers "$WORKERS" \
    --to "s3://bench/checked-1" --cache-dir "$WORK/cache-checked-1"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Every tool stored every file.
for p in sagetrain-1 aws-1 rclone-1 checked-1; do
  n=$("$AWS" --endpoint-url "$ENDPOINT" s3 ls --recursive "s3://bench/$p/" | wc -l)
  echo "s3://bench/$p: $n objects"
  [ "$n" -ge "$FILES" ] || { echo "s3://bench/$p has $n objects, want $FILES"; exit 1; }
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
S=$(echo "${T[sagetrain]}" | median); R=$(echo "${T[reupload]}" | median)
A=$(echo "${T[aws]}" | median); C=$(echo "${T[rclone]}" | median)
K=$(echo "${T[checked]}" | median); KR=$(echo "${T[checked_reupload]}" | median)
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
mbps() { python3 -c "print(f'{$BYTES/1e6/$1:.0f}')"; }

cat >"$OUT" <<MD
# Upload benchmark

$FILES files ($N drawings of 20-200 KB plus metadata.csv, $(python3 -c "print(f'{$BYTES/1e6:.0f}')") MB) uploaded to one
versitygw $(go version -m "$VGW" 2>/dev/null | awk '$1=="mod"{print $3; exit}') on 127.0.0.1, posix backend on the same disk.
Page cache warm for every tool. Median of $ROUNDS round(s); each round runs each tool once, the order rotating between rounds.

| tool | seconds | MB/s | sagetrain is faster by |
|---|---:|---:|---:|
| sagetrain upload --plain (workers $WORKERS, fresh hash cache) | $S | $(mbps "$S") | 1.00x |
| aws s3 cp --recursive ($("$AWS" --version 2>&1 | cut -d' ' -f1)) | $A | $(mbps "$A") | $(ratio "$A" "$S")x |
| rclone copy, defaults ($(rclone version 2>/dev/null | head -1)) | $C | $(mbps "$C") | $(ratio "$C" "$S")x |
| sagetrain upload with the trainer's checks (metadata matched, every PNG decoded) | $K | $(mbps "$K") | |

Re-upload of the unchanged set (one manifest read, nothing sent): **$R s** (plain), **$KR s** (with checks, decode results cached).

Targets: at least 2x faster than aws-cli: **$(ratio "$A" "$S")x**; no slower than rclone: **$(ratio "$C" "$S")x**;
unchanged re-upload under 2 s: **$R s**.

All runs (seconds): sagetrain${T[sagetrain]}; re-upload${T[reupload]}; aws${T[aws]}; rclone${T[rclone]};
checked${T[checked]}; checked re-upload${T[checked_reupload]}.

Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average $LOAD_BEFORE before and
$LOAD_AFTER after (the machine was shared with other work: absolute times are noisy, the ratios less so).
sagetrain sends every body with its x-amz-checksum-sha256, which the server verifies.

Reproduce: \`N=$N ROUNDS=$ROUNDS WORKERS=$WORKERS bench/upload/run.sh\` (needs versitygw, /usr/bin/aws, rclone, python3).
MD
cat "$OUT"
