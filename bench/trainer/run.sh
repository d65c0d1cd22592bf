#!/bin/sh
# Trainer benchmark: Go (sagetrain's autoencoder) vs PyTorch CPU on the same
# data, same network, same run; then the resident memory of a full
# `sagetrain train` on 50,000 samples.
#
#   sh bench/trainer/run.sh            (from the repository root)
#   N=4000 EPOCHS=3 ROUNDS=3 MEM_N=50000 sh bench/trainer/run.sh   (the defaults; MEM_N=0 skips the memory run)
#
# Each round runs, one after the other: Go on 2 cores, PyTorch 2 threads, Go on
# 1 core, PyTorch 1 thread, so a change in the machine's load hits both sides.
# The summary gives the median of the rounds for each setting, Go 2 cores over
# the best PyTorch setting, Go 2 cores over Go 1 core, and the GFLOP/s against
# the AVX2 FMA peak (32 flops per cycle per core at the nominal clock; twice
# that with AVX-512, which the kernels use where the CPU has it). The load
# average is printed before and after, and next to every run: a figure taken
# above load 1 on 2 cores is not a quiet-machine figure.
#
# PyTorch is Debian's python3-torch, run with Debian's /usr/bin/python3.
set -eu
N=${N:-4000}
EPOCHS=${EPOCHS:-3}
ROUNDS=${ROUNDS:-3}
MEM_N=${MEM_N:-50000}
PY=${PY:-/usr/bin/python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
go build -o "$W/trainerbench" ./bench/trainer
go build -o "$W/sagetrain" ./cmd/sagetrain
MHZ=$(grep -m1 'cpu MHz' /proc/cpuinfo | cut -d: -f2 | xargs)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), ${MHZ} MHz, go $(go env GOVERSION), torch $($PY -c 'import torch; print(torch.__version__)')"
echo "load average before: $(load)"

"$W/trainerbench" gen -n "$N" -dim 832 -out "$W/x.f32"
echo "== throughput: default network (832-256-128-64-32-64-128-256-832), batch 32, $N samples, $EPOCHS epochs, $ROUNDS rounds"
: > "$W/runs"
run() { # name command...: runs it, prints its line with the load, keeps "name samples/s gflops"
  name=$1; shift
  line=$("$@")
  echo "$name: $line (load $(load))"
  echo "$name $(echo "$line" | sed -n 's/.* samples_per_sec=\([0-9.]*\).*/\1/p') $(echo "$line" | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p') $(echo "$line" | sed -n 's/.*samples_per_cpu_sec=\([0-9.]*\).*/\1/p')" >> "$W/runs"
}
r=1
while [ "$r" -le "$ROUNDS" ]; do
  echo "-- round $r"
  run go2 env GOMAXPROCS=2 "$W/trainerbench" throughput -data "$W/x.f32" -n "$N" -dim 832 -epochs "$EPOCHS"
  run torch2 $PY bench/trainer/torch_bench.py "$W/x.f32" "$N" 832 "$EPOCHS" 2
  run go1 env GOMAXPROCS=1 "$W/trainerbench" throughput -data "$W/x.f32" -n "$N" -dim 832 -epochs "$EPOCHS"
  run torch1 $PY bench/trainer/torch_bench.py "$W/x.f32" "$N" 832 "$EPOCHS" 1
  r=$((r + 1))
done
echo "load average after: $(load)"
med() { grep "^$1 " "$W/runs" | cut -d' ' -f"$2" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
G2=$(med go2 2); G1=$(med go1 2); T2=$(med torch2 2); T1=$(med torch1 2)
AVX512=$(grep -m1 '^flags' /proc/cpuinfo | grep -qw avx512f && echo 1 || echo 0)
awk -v avx512="$AVX512" -v g2="$G2" -v g1="$G1" -v t2="$T2" -v t1="$T1" -v f2="$(med go2 3)" -v f1="$(med go1 3)" -v mhz="$MHZ" 'BEGIN {
  best = (t1 > t2) ? t1 : t2; peak = mhz * 32 / 1000
  printf "== medians (samples/s): go 2 cores %.0f, go 1 core %.0f, torch 2 threads %.0f, torch 1 thread %.0f\n", g2, g1, t2, t1
  printf "go 2 cores / best torch: %.2fx (target >= 2)\n", g2 / best
  printf "go 2 cores / go 1 core:  %.2fx (target >= 1.7)\n", g2 / g1
  printf "GFLOP/s: %.1f on 2 cores (%.0f%% of the %.0f AVX2 FMA peak), %.1f on 1 core (%.0f%% of %.0f)\n", f2, 100 * f2 / (2 * peak), 2 * peak, f1, 100 * f1 / peak, peak
  if (avx512) printf "(this CPU has AVX-512, which the kernels use: its FMA peak is twice the AVX2 one, %.0f per core)\n", 2 * peak
}'
echo "samples per CPU second (medians; what a sample costs, whatever else runs): go 1 core $(med go1 4), torch 1 thread $(med torch1 4), go 2 cores $(med go2 4), torch 2 threads $(med torch2 4)"
awk '{print $1}' /proc/loadavg | awk '$1 > 1 {print "NOTE: load average above 1 on 2 cores: not a quiet-machine figure"}'

[ "$MEM_N" -gt 0 ] || exit 0   # MEM_N=0: throughput only
echo "== memory: sagetrain train on $MEM_N samples of 832 values (embeddings.npy), 2 epochs"
"$W/trainerbench" gen -n "$MEM_N" -dim 832 -out "$W/m.f32"
"$W/trainerbench" mlroot -data "$W/m.f32" -n "$MEM_N" -dim 832 -root "$W/ml"
rm "$W/m.f32"
echo '{"epochs":"2","loss_plots":"false","min_samples":"50"}' > "$W/ml/input/config/hyperparameters.json"
echo "load average before: $(load)"
/usr/bin/time -v "$W/sagetrain" train --ml-root "$W/ml" > "$W/train.log" 2> "$W/time.log"
echo "load average after: $(load)"
grep -E '^(metric: n_train|\[trainer\] (split|done))' "$W/train.log"
grep -E 'Maximum resident set size|Elapsed \(wall clock\)' "$W/time.log"
