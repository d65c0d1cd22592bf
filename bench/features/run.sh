#!/usr/bin/env bash
# Feature extraction benchmark, side by side in one run:
#   ours: features.LoadChannel (PNG decode + the Go descriptor, worker pool)
#   peer: the original's extractor, ViT-B/16 forward in PyTorch on the CPU
# on the same 256x256 PNG drawings, both limited to 2 cores.
# usage: bench/features/run.sh [N_IMAGES] [PEER_IMAGES]   (from the repo root)
set -euo pipefail
n=${1:-400}
peer_n=${2:-32}
cores=2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/sagetrain" ./cmd/sagetrain
"$dir/sagetrain" sample-data "$dir" --train "$n" --test 1 --size 256 --seed 5 >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average before $(cut -d' ' -f1-3 /proc/loadavg)"
FEATURES_BENCH_DIR="$dir" GOMAXPROCS=$cores go test -run XXX -bench 'LoadChannel256|DescriptorOnly256|PNGDecode256' -benchtime 3x -count 1 ./bench/features/ | tee "$dir/go.txt"
ours=$(awk '/BenchmarkLoadChannel256/ {for (i=1;i<=NF;i++) if ($(i+1)=="images/s") print $i}' "$dir/go.txt")
ours_cpu=$(awk '/BenchmarkLoadChannel256/ {for (i=1;i<=NF;i++) if ($(i+1)=="cpu-ms/image") print $i}' "$dir/go.txt")
python=${PEER_PYTHON:-/usr/bin/python3}   # Debian's python3 with python3-torch
peer_json=$("$python" bench/features/vit_peer.py "$dir/training/images" "$peer_n" "$cores")
echo "$peer_json"
peer=$(echo "$peer_json" | sed -E 's/.*"images_per_s": ([0-9.]+).*/\1/')
peer_cpu=$(echo "$peer_json" | sed -E 's/.*"cpu_ms_per_image": ([0-9.]+).*/\1/')
echo "ours (Go descriptor, LoadChannel): $ours images/s wall, $ours_cpu CPU ms/image"
echo "peer (ViT-B/16, PyTorch CPU):      $peer images/s wall, $peer_cpu CPU ms/image"
awk -v a="$ours" -v b="$peer" -v ac="$ours_cpu" -v bc="$peer_cpu" 'BEGIN {
  printf "ratio ours/peer: %.1fx (wall), %.1fx (CPU per image)\n", a/b, bc/ac
  printf "on 2 dedicated cores (2000 / CPU ms): ours %.0f images/s, peer %.1f images/s\n", 2000/ac, 2000/bc }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
