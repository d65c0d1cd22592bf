#!/bin/sh
# Multi-group training: `sagetrain train` with defaults on a job of many age
# groups (the synthetic sample data, ages 2-18), on 1 core and on 2 cores
# (GOMAXPROCS), alternating, ROUNDS rounds. It reports the training phase's
# wall time (the trainer's "trained N age groups in T" line: the groups
# only, describing the drawings is not in it) and the whole run's, their
# medians and 2 cores over 1 core. With two cores the groups train side by
# side, one per core (internal/trainer/grouptraining.go); a job of one group
# splits that network's products over the cores instead (run.sh measures
# that case). OLD=path/to/an/older/sagetrain adds its 2-core runs to each
# round, for an A/B of the same job.
#
#   sh bench/trainer/groups.sh        (TRAIN=4000 ROUNDS=3 by default; from the repository root)
set -eu
TRAIN=${TRAIN:-4000}
ROUNDS=${ROUNDS:-3}
OLD=${OLD:-}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
go build -o "$W/sagetrain" ./cmd/sagetrain
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), go $(go env GOVERSION)"
echo "load average before: $(load)"
"$W/sagetrain" sample-data "$W/sd" --train "$TRAIN" --test 500 > /dev/null
mkdir -p "$W/root/input/data" "$W/root/input/config"
mv "$W/sd/training" "$W/sd/test" "$W/root/input/data/"
echo '{}' > "$W/root/input/config/hyperparameters.json"
: > "$W/runs"
run() { # name cores binary
  rm -rf "$W/root/checkpoints" "$W/root/model" "$W/root/output"
  t0=$(date +%s.%N)
  GOMAXPROCS=$2 "$3" train --ml-root "$W/root" > "$W/log" 2>&1
  t1=$(date +%s.%N)
  line=$(sed -n 's/.*trained \([0-9]*\) age groups in \([0-9.]*\)\(m*s\).*/\1 \2 \3/p' "$W/log")
  train=$(echo "$line" | awk 'NF == 3 {v = $2; if ($3 == "ms") v /= 1000; print v}')
  wall=$(echo "$t0 $t1" | awk '{print $2 - $1}')
  sum=$(cd "$W/root/model" && cat weights.bin model.json | sha256sum | cut -c1-12)
  echo "round $r, $1: $(echo "$line" | cut -d' ' -f1) groups trained in ${train:-?} s, whole run ${wall} s, model $sum (load $(load))"
  echo "$1 ${train:-0} $wall" >> "$W/runs"
}
r=1
while [ "$r" -le "$ROUNDS" ]; do
  run 2cores 2 "$W/sagetrain"
  run 1core 1 "$W/sagetrain"
  if [ -n "$OLD" ]; then run old2cores 2 "$OLD"; fi
  r=$((r + 1))
done
echo "load average after: $(load)"
med() { grep "^$1 " "$W/runs" | cut -d' ' -f"$2" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
awk -v t1="$(med 1core 2)" -v t2="$(med 2cores 2)" -v w1="$(med 1core 3)" -v w2="$(med 2cores 3)" 'BEGIN {
  printf "== medians: training %.2f s on 1 core, %.2f s on 2 cores: 2 cores / 1 core %.2fx (target >= 1.7)\n", t1, t2, t1 / t2
  printf "   whole run %.2f s on 1 core, %.2f s on 2 cores: %.2fx\n", w1, w2, w1 / w2
}'
if [ -n "$OLD" ]; then
  awk -v w2="$(med 2cores 3)" -v wo="$(med old2cores 3)" 'BEGIN { printf "   whole run on 2 cores: %.2f s, OLD %.2f s\n", w2, wo }'
fi
awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { if (l > 1) print "NOTE: load average above 1 on 2 cores: not a quiet-machine figure" }'
