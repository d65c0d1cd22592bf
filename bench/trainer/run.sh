#!/bin/sh
# Trainer benchmark: Go (sagetrain's autoencoder) vs PyTorch CPU on the same
# data, same network, same run; then the resident memory of a full
# `sagetrain train` on 50,000 samples.
#
#   sh bench/trainer/run.sh            (from the repository root)
#   N=4000 EPOCHS=1 MEM_N=50000 sh bench/trainer/run.sh   (the defaults; MEM_N=0 skips the memory run)
#
# PyTorch is Debian's python3-torch, run with Debian's /usr/bin/python3.
set -eu
N=${N:-4000}
EPOCHS=${EPOCHS:-1}
MEM_N=${MEM_N:-50000}
PY=${PY:-/usr/bin/python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
go build -o "$W/trainerbench" ./bench/trainer
go build -o "$W/sagetrain" ./cmd/sagetrain
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), go $(go env GOVERSION), torch $($PY -c 'import torch; print(torch.__version__)')"

"$W/trainerbench" gen -n "$N" -dim 832 -out "$W/x.f32"
echo "== throughput: default network (832-256-128-64-32-64-128-256-832), batch 32, $N samples, $EPOCHS epochs"
# Alternated, so that a change in the machine's load hits both sides.
for round in 1 2; do
  "$W/trainerbench" throughput -data "$W/x.f32" -n "$N" -dim 832 -epochs "$EPOCHS"
  $PY bench/trainer/torch_bench.py "$W/x.f32" "$N" 832 "$EPOCHS" 2
  $PY bench/trainer/torch_bench.py "$W/x.f32" "$N" 832 "$EPOCHS" 1
done

[ "$MEM_N" -gt 0 ] || exit 0   # MEM_N=0: throughput only
echo "== memory: sagetrain train on $MEM_N samples of 832 values (embeddings.npy), 2 epochs"
"$W/trainerbench" gen -n "$MEM_N" -dim 832 -out "$W/m.f32"
"$W/trainerbench" mlroot -data "$W/m.f32" -n "$MEM_N" -dim 832 -root "$W/ml"
rm "$W/m.f32"
echo '{"epochs":"2","loss_plots":"false","min_samples":"50"}' > "$W/ml/input/config/hyperparameters.json"
/usr/bin/time -v "$W/sagetrain" train --ml-root "$W/ml" > "$W/train.log" 2> "$W/time.log"
grep -E '^(metric: n_train|\[trainer\] (split|done))' "$W/train.log"
grep -E 'Maximum resident set size|Elapsed \(wall clock\)' "$W/time.log"
