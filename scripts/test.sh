#!/usr/bin/env bash
# What `npm test` runs: starts a throwaway Redis Cluster, runs tap against it (arguments
# pass through to tap) and removes the cluster however tap ends. The cluster uses ports
# TEST_CLUSTER_PORT_BASE..+5 (default 7100), apart from a dev cluster on 7000.
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

base=${TEST_CLUSTER_PORT_BASE:-7100}
dir=$(mktemp -d "${TMPDIR:-/tmp}/latch-cluster-$base.XXXXXX")
# Exported so tests that kill a node can bring it back with
# `bash scripts/cluster.sh restart-node PORT` on this cluster, not the dev one.
export TEST_CLUSTER_PORT_BASE=$base CLUSTER_PORT_BASE=$base CLUSTER_DIR=$dir

# shellcheck disable=SC2317 # reached through the trap, which shellcheck does not follow
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  bash scripts/cluster.sh down --purge >/dev/null || rc=1
  exit "$rc"
}
trap teardown EXIT
# The exit trap tears down; these only set the status that INT and TERM report. tap runs
# in the foreground, so a TERM sent to this script alone acts once tap has returned.
trap 'exit 130' INT
trap 'exit 143' TERM

bash scripts/cluster.sh up

nodes=()
for ((i = 0; i < 6; i++)); do nodes+=("127.0.0.1:$((base + i))"); done
REDIS_CLUSTER_NODES=$(IFS=,; echo "${nodes[*]}")
export REDIS_CLUSTER_NODES

# Every test server logs here as it would in production; see check_logs.
LATCH_TEST_LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/latch-test-logs.XXXXXX")
export LATCH_TEST_LOG_DIR

# Logs must never hold a secret: no access token (a JWT), no refresh token, no password
# hash, no password the tests use, no request body. An empty log would prove nothing, so
# it is reported (a run of a few files may log no request at all).
check_logs() {
  local logs=$LATCH_TEST_LOG_DIR leaks
  local jwt='eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}'
  local refresh='[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}'
  local secrets='\$argon2id\$|correct horse battery staple|not the password|"password"'
  if ! grep -rqs 'request completed' "$logs"; then
    echo "log check: no request was logged, nothing to check"
    return 0
  fi
  leaks=$(grep -rEoh "$jwt|$refresh|$secrets" "$logs" | cut -c1-24 | sort | uniq -c || true)
  if [[ -n $leaks ]]; then
    printf 'log check: secrets in the test logs (%s):\n%s\n' "$logs" "$leaks" >&2
    return 1
  fi
  echo "log check: $(cat "$logs"/* | wc -l) log lines, no token and no password"
  rm -rf "$logs"
}

# --no: run the tap in node_modules, never fetch one from the registry.
status=0
npx --no -- tap "$@" || status=$?
check_logs || status=1
exit "$status"
