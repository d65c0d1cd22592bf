#!/bin/sh
# A stand-in for `sagetrain train` that honours the container contract
# quickly: called as `fake-trainer.sh --ml-root DIR`. Hyperparameters steer
# it: "sleep" (seconds per epoch), "epochs", "fail" ("yes" writes
# output/failure and exits 2). A job that goes through the job service's
# spec check (which refuses hyperparameters the real trainer does not
# know) gives its pause as the environment variable FAKE_TRAINER_SLEEP.
# Its lines match the trainer's metric definitions (spec.DefaultMetricDefinitions).
root="$2"
hp="$root/input/config/hyperparameters.json"
host=$(sed -n 's/.*"current_host":"\([^"]*\)".*/\1/p' "$root/input/config/resourceconfig.json")
trap 'echo "SIGTERM on $host"; echo "stopped" > "$root/model/stopped-$host.txt"; exit 143' TERM
echo "host $host starting; peers $SAGETRAIN_HOST_ADDRESSES"
echo "resourceconfig $(cat "$root/input/config/resourceconfig.json")"
for f in $(cd "$root/input/data/training" && find . -type f | sort); do echo "data: $f"; done
if [ -f "$root/checkpoints/state.txt" ]; then echo "resumed from checkpoint $(cat "$root/checkpoints/state.txt")"; fi
echo "checkpoint of $host" > "$root/checkpoints/state.txt"
pause=$(sed -n 's/.*"sleep":"\([0-9.]*\)".*/\1/p' "$hp")
[ -n "$pause" ] || pause="$FAKE_TRAINER_SLEEP"
epochs=$(sed -n 's/.*"epochs":"\([0-9]*\)".*/\1/p' "$hp")
[ -n "$epochs" ] || epochs=5
i=1
while [ "$i" -le "$epochs" ]; do
  echo "epoch=$i group=$host train_loss=0.$((100 - i)) val_loss=0.$((100 - i))"
  if [ -n "$pause" ]; then sleep "$pause" & wait $!; fi
  i=$((i + 1))
done
if grep -q '"fail":"yes"' "$hp"; then
  echo "bad data in $host" > "$root/output/failure"
  echo "failing on purpose" >&2
  exit 2
fi
echo "weights of $host" > "$root/model/weights-$host.bin"
echo '{"test_auroc": 0.91}' > "$root/output/data/metrics.json"
echo "metric: test_auroc=0.91"
echo "done on $host"
