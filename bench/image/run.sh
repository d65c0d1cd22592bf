#!/usr/bin/env bash
# Side-by-side: `sagetrain image build --push` vs `ko build` of the same
# trainer (./cmd/sagetrain of a snapshot of HEAD) to the same docker-registry
# on 127.0.0.1, on the same base (sagetrain's minimal base, pushed there for
# ko). Each tool gets one untimed warm-up (compile caches), then RUNS timed
# runs, alternating, each into a fresh repository so every blob is uploaded.
# Prints a markdown table of medians and image sizes.
#
#   bench/image/run.sh            # RUNS=5 by default
#   RUNS=3 KO=~/go/bin/ko bench/image/run.sh
set -euo pipefail
RUNS=${RUNS:-5}
KO=${KO:-$(command -v ko || echo "$HOME/go/bin/ko")}
REGISTRY_BIN=${REGISTRY_BIN:-$(command -v docker-registry || echo /usr/bin/docker-registry)}
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average before $(cut -d' ' -f1-3 /proc/loadavg)"
work=$(mktemp -d)
regpid=""
cleanup() {
	rc=$?
	[ -n "$regpid" ] && kill "$regpid" 2>/dev/null
	if [ "$rc" != 0 ]; then # say why a tool failed
		for f in "$work"/*.log; do [ -s "$f" ] && { echo "== $f" >&2; tail -5 "$f" >&2; }; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/src" "$work/storage"
git -C "$top" archive HEAD | tar -x -C "$work/src"
rev=$(git -C "$top" rev-parse --short HEAD)
(cd "$work/src" && CGO_ENABLED=0 go build -trimpath -o "$work/sagetrain" ./cmd/sagetrain && go build -trimpath -o "$work/pushbase" ./bench/image/pushbase)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/storage}}
http: {addr: $reg}
health: {storagedriver: {enabled: false}}
YML
"$REGISTRY_BIN" serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
"$work/pushbase" "$reg/base:minimal" >/dev/null

# ko with the same compiler flags as ours (-s -w, no build id, embedded tzdata).
cat > "$work/.ko.yaml" <<YML
defaultBaseImage: $reg/base:minimal
defaultPlatforms: [linux/amd64]
builds:
- id: sagetrain
  main: ./cmd/sagetrain
  flags: [-tags, timetzdata]
  ldflags: [-s, -w, -buildid=]
YML
export KO_CONFIG_PATH=$work/.ko.yaml

now() { date +%s.%N; }
ours() { (cd "$work/src" && "$work/sagetrain" image build --push --tag "$reg/ours$1:bench" --revision "$rev" --output json >"$work/ours$1.json"); }
ko_same() { (cd "$work/src" && KO_DOCKER_REPO="$reg/ko$1" "$KO" build --bare --sbom=none ./cmd/sagetrain >"$work/ko$1.ref" 2>"$work/ko$1.log"); }
mkdir -p "$work/noconfig"
echo "defaultBaseImage: $reg/base:minimal" > "$work/noconfig/.ko.yaml" # ko's defaults otherwise
ko_default() { (cd "$work/src" && KO_CONFIG_PATH="$work/noconfig" KO_DEFAULTBASEIMAGE="$reg/base:minimal" KO_DOCKER_REPO="$reg/kod$1" "$KO" build --bare ./cmd/sagetrain >"$work/kod$1.ref" 2>"$work/kod$1.log"); }

ours w; ko_same w; ko_default w   # warm-up: compile caches for each tool's flags
declare -a T_OURS T_KO T_KOD
for i in $(seq "$RUNS"); do
	t0=$(now); ours "$i"; t1=$(now); ko_same "$i"; t2=$(now); ko_default "$i"; t3=$(now)
	T_OURS+=("$(echo "$t1 - $t0" | bc)"); T_KO+=("$(echo "$t2 - $t1" | bc)"); T_KOD+=("$(echo "$t3 - $t2" | bc)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
# Size to pull: manifest + config + layers, read back from the registry.
size_of() { # repo ref
	python3 - "$reg" "$1" "$2" <<'PY'
import json, sys, urllib.request
reg, repo, ref = sys.argv[1:]
acc = "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json"
req = urllib.request.Request(f"http://{reg}/v2/{repo}/manifests/{ref}", headers={"Accept": acc})
raw = urllib.request.urlopen(req).read()
m = json.loads(raw)
print(len(raw) + m["config"]["size"] + sum(l["size"] for l in m["layers"]))
PY
}
ours_size=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["size_bytes"])' "$work/ours1.json")
ko_ref=$(cat "$work/ko1.ref"); kod_ref=$(cat "$work/kod1.ref")
ko_size=$(size_of ko1 "${ko_ref##*@}")
kod_size=$(size_of kod1 "${kod_ref##*@}")
mo=$(median "${T_OURS[@]}"); mk=$(median "${T_KO[@]}"); mkd=$(median "${T_KOD[@]}")
echo "| tool | build + push, median of $RUNS (s) | runs (s) | image size to pull (MB) |"
echo "|---|---|---|---|"
printf '| sagetrain image build --push | %s | %s | %.1f |\n' "$mo" "${T_OURS[*]}" "$(echo "$ours_size/1000000" | bc -l)"
printf '| ko build, same flags, --sbom=none | %s | %s | %.1f |\n' "$mk" "${T_KO[*]}" "$(echo "$ko_size/1000000" | bc -l)"
printf '| ko build, defaults (SBOM on, no -s -w) | %s | %s | %.1f |\n' "$mkd" "${T_KOD[*]}" "$(echo "$kod_size/1000000" | bc -l)"
echo
printf 'ratio ours/ko (same flags): %.2f; ours/ko (defaults): %.2f\n' "$(echo "$mo/$mk" | bc -l)" "$(echo "$mo/$mkd" | bc -l)"
echo "source: HEAD $rev; $(go version | cut -d' ' -f3); ko $("$KO" version 2>/dev/null); load average after $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
