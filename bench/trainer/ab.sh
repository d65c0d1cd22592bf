#!/bin/sh
# A/B of two builds of the training loop: alternating runs of each on 2 cores
# and on 1 core, then the median, min and max of each. For kernel changes whose
# effect is smaller than this machine kind's run-to-run spread (the 2-core
# figure can swing 2x between runs a minute apart when the host takes a vCPU).
#
#   git stash; go build -o /tmp/old ./bench/trainer; git stash pop
#   go build -o /tmp/new ./bench/trainer
#   sh bench/trainer/ab.sh /tmp/old /tmp/new          (ROUNDS=10 EPOCHS=6 N=4000 by default)
#
# Look at min and max as well as the median: a change that only moves the
# medians within the spread has not been shown.
set -eu
ROUNDS=${ROUNDS:-10}
EPOCHS=${EPOCHS:-6}
N=${N:-4000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before: $(load)"
"$1" gen -n "$N" -dim 832 -out "$W/x.f32"
: > "$W/runs"
i=1
while [ "$i" -le "$ROUNDS" ]; do
  for b in "$@"; do
    for p in 2 1; do
      sps=$(GOMAXPROCS=$p "$b" throughput -data "$W/x.f32" -n "$N" -dim 832 -epochs "$EPOCHS" | sed 's/.*samples_per_sec=\([0-9.]*\).*/\1/')
      echo "$b $p $sps" >> "$W/runs"
    done
  done
  i=$((i + 1))
done
echo "load after: $(load)"
for b in "$@"; do
  for p in 2 1; do
    grep "^$b $p " "$W/runs" | cut -d' ' -f3 | sort -g | awk -v b="$b" -v p="$p" '{v[NR]=$1} END {printf "%s, %d core(s): median %.0f  min %.0f  max %.0f samples/s (%d runs)\n", b, p, (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2, v[1], v[NR], NR}'
  done
done
