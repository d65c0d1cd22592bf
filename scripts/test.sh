#!/usr/bin/env bash
# The full test suite, from a fresh machine: installs and starts every server
# the tests talk to (see shared/DESIGN.md), then runs go vet and go test.
# Usage: scripts/test.sh [go test flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# 1. Debian packages: the container registry (docker-registry), Chromium for the dashboard test.
need_apt=()
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need_apt+=(docker-registry)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
/usr/bin/python3 -c 'import onnx' 2>/dev/null || need_apt+=(python3-onnx) # ONNX's checker, for the ONNX export test
[ -x /usr/bin/aws ] || need_apt+=(awscli) # aws-cli v2, the peer of the upload bench and what the acceptance checks make buckets with
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# 2. Go-installed servers: versitygw (S3).
export PATH="$(go env GOPATH)/bin:$PATH"
if ! command -v versitygw >/dev/null 2>&1; then
  log "installing versitygw"
  go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

# 2b. ONNX Runtime for node (npm), the runtime the ONNX export test runs.
#     --ignore-scripts: the CPU runtime ships in the package; the install
#     script only fetches GPU extras.
ort_dir="${SAGETRAIN_ORT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sagetrain/onnxruntime-node}"
if ! NODE_PATH="$ort_dir/node_modules" node -e 'require("onnxruntime-node")' 2>/dev/null; then
  log "installing onnxruntime-node into $ort_dir"
  mkdir -p "$ort_dir"
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$ort_dir" onnxruntime-node@1.30.0 >/dev/null
fi
export NODE_PATH="$ort_dir/node_modules${NODE_PATH:+:$NODE_PATH}"

# 3. moto (IAM, STS, ECR, CloudWatch Logs, SageMaker shape) ships with the
#    machine image's Python 3.11; tests start it themselves.
python3 -c 'import moto' 2>/dev/null || { log "moto is missing from python3: the tests that need it will fail"; exit 1; }

# 4. PostgreSQL on 127.0.0.1:5432 (trust auth, database test).
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
export SAGETRAIN_TEST_POSTGRES="${SAGETRAIN_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"

log "go vet"
go vet ./...

# 5. The linter (.golangci.yml), built from source with this Go.
if ! command -v golangci-lint >/dev/null 2>&1; then
  log "installing golangci-lint"
  go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
fi
log "golangci-lint"
golangci-lint run ./...

# Concurrent packages run under the race detector; the numeric trainer
# packages run without it (the detector makes them ~10x slower), except the
# tests of their concurrent parts: the groups trained side by side, the
# stop, the hosts' exchange, the progress record, and the autoencoder's
# second-core partner.
race_pkgs=$(go list ./... | grep -v -E '/internal/trainer(/|$)|/bench(/|$)' || true)
plain_pkgs=$(go list ./... | grep -E '/internal/trainer(/|$)' || true)

log "go test (race) on concurrent packages"
go test -race -timeout 30m "$@" $race_pkgs
if [ -n "$plain_pkgs" ]; then
  log "go test on trainer packages"
  go test -timeout 30m "$@" $plain_pkgs
  log "go test (race) on the trainer's concurrent parts"
  go test -race -timeout 30m "$@" -run 'SideBySide|TrainGroups|StopCheckpoint|StopWritesPartial|TwoHosts|FailedHost|Progress|SameDataSameSeed|InPair|TwoTrainings|SameWeightsOnOneOrTwoCores' \
    ./internal/trainer/ ./internal/trainer/autoencoder/
fi
