#!/usr/bin/env bash
# Runs a local Redis Cluster for latch: six nodes on 127.0.0.1, 3 masters + 3 replicas.
#   bash scripts/cluster.sh up | down [--purge] | status | restart-node PORT [--no-wait]
# CLUSTER_PORT_BASE (default 7000) gives ports BASE..BASE+5; CLUSTER_DIR (default
# <repo>/.cluster/BASE) holds each node's config, data, log and pidfile. Clusters with
# different bases and directories share nothing, so tests can run beside a dev cluster.
# Linux only: a node's identity is checked through /proc before it is signalled.
set -euo pipefail

readonly host=127.0.0.1
readonly marker=.latch-cluster
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
base=${CLUSTER_PORT_BASE:-7000}
dir=${CLUSTER_DIR:-$root/.cluster/$base}
# Upper bound for the cluster to settle; from nothing it takes a few seconds here.
wait_s=${CLUSTER_WAIT_SECONDS:-30}
ports=()
why=''

say() { printf 'cluster %s: %s\n' "$base" "$*"; }
die() { printf 'cluster %s: %s\n' "$base" "$*" >&2; exit 1; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
since() { local ms=$(($(now_ms) - $1)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }
field() { sed -n "s/^$1://p" <<<"$2"; }

setup() {
  local i
  if ! [[ $base =~ ^[1-9][0-9]*$ ]] || ((base < 1024 || base > 55530)); then
    die "CLUSTER_PORT_BASE must be a number from 1024 to 55530 (the bus uses port+10000)"
  fi
  [[ $wait_s =~ ^[1-9][0-9]*$ ]] || die "CLUSTER_WAIT_SECONDS must be a positive integer"
  [[ $dir == /* ]] || dir=$PWD/$dir
  # The path is written into redis.conf, whose quoting cannot hold these characters.
  case $dir in *'"'* | *\\* | *$'\n'*) die "CLUSTER_DIR must not contain \" \\ or newlines" ;; esac
  for ((i = 0; i < 6; i++)); do ports+=($((base + i))); done
}

# The marker ties a directory to one base and keeps --purge away from directories this
# script did not create.
check_dir() {
  local owner
  [[ -d $dir ]] || return 0
  if [[ -f $dir/$marker ]]; then
    owner=$(<"$dir/$marker")
    [[ $owner == "port-base=$base" ]] || die "$dir belongs to a cluster with $owner"
  elif [[ -n $(ls -A "$dir") ]]; then
    die "$dir is not empty and was not created by this script; choose another CLUSTER_DIR"
  fi
}

# Serialises up, down and restart-node on one directory; status only reads.
lock_dir() {
  mkdir -p "$dir"
  [[ -f $dir/$marker ]] || echo "port-base=$base" >"$dir/$marker"
  exec 9>>"$dir/.lock"
  flock -w 120 9 || die "another cluster.sh holds $dir/.lock"
}

need() {
  local cmd
  for cmd; do
    command -v "$cmd" >/dev/null || die "$cmd is not installed; run: bash $0 up"
  done
}

ensure_redis() {
  local v
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    install_redis
  fi
  v=$(redis-server --version)
  v=${v#*v=}
  ((${v%%.*} >= 7)) || die "Redis 7 or newer is needed, found ${v%% *}"
}

install_redis() {
  local os=''
  # shellcheck disable=SC1091 # a system file, read only to tell Debian-like systems apart
  [[ -r /etc/os-release ]] && os=$(. /etc/os-release && echo " ${ID:-} ${ID_LIKE:-} ")
  if [[ $os != *' debian '* && $os != *' ubuntu '* ]]; then
    die "redis-server and redis-cli (Redis 7+) are missing; install them with your" \
      "package manager, e.g. brew install redis or sudo dnf install redis"
  fi
  if (($(id -u) != 0)); then
    die "redis-server and redis-cli are missing; install them with:" \
      "sudo apt-get update && sudo apt-get install -y redis-server"
  fi
  say "installing redis-server with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y redis-server
}

# A stopped or hung node must not hang the script, hence the timeout on every call.
rcli() {
  local port=$1
  shift
  timeout 2 redis-cli -h "$host" -p "$port" "$@" 2>/dev/null </dev/null | tr -d '\r'
}

# True when PID is the redis-server of PORT running in this cluster's directory, so a
# recycled pid or a node of another checkout is never signalled.
is_node() {
  local pid=$1 port=$2 cmd cwd re
  re="(^|/)redis-server +${host//./\\.}:$port( |\$)"
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmd =~ $re ]] || return 1
  cwd=$(readlink -f "/proc/$pid/cwd" 2>/dev/null) || return 1
  [[ -n $cwd && $cwd == "$(readlink -f "$dir/$port")" ]]
}

node_pid() {
  local port=$1 pid
  pid=$(cat "$dir/$port/redis.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[1-9][0-9]*$ ]] && is_node "$pid" "$port" || return 1
  echo "$pid"
}

port_taken() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

write_node_conf() {
  local port=$1 node=$dir/$1
  cat >"$node/redis.conf" <<EOF
# Written by scripts/cluster.sh on every start; shared settings live in node.conf.
include "$root/cluster-config/node.conf"
port $port
dir "$node"
cluster-config-file nodes.conf
pidfile "$node/redis.pid"
logfile "$node/redis.log"
EOF
}

# up and restart-node both start nodes here, so a restarted node runs exactly as before.
start_node() {
  local port=$1 i
  port_taken "$port" && die "port $port is in use by something other than this cluster"
  port_taken $((port + 10000)) && die "cluster bus port $((port + 10000)) is in use"
  mkdir -p "$dir/$port"
  write_node_conf "$port"
  # 9>&-: a daemonized node would otherwise hold the lock on fd 9 for its whole life.
  redis-server "$dir/$port/redis.conf" </dev/null >/dev/null 9>&- ||
    die "redis-server refused $dir/$port/redis.conf"
  for ((i = 0; i < 100; i++)); do
    node_pid "$port" >/dev/null && [[ $(rcli "$port" ping) == PONG ]] && return 0
    sleep 0.1
  done
  die "node $port did not start within 10 s; end of its log:" \
    "$(tail -n 5 "$dir/$port/redis.log" 2>/dev/null)"
}

# SIGTERM lets a node flush its AOF; SIGKILL only for one still alive after 10 s.
stop_nodes() {
  local port pid i left
  local -A pids=()
  for port; do
    if pid=$(node_pid "$port"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids[$port]=$pid
    elif [[ -f $dir/$port/redis.pid ]]; then
      say "node $port: pidfile names no running node of this cluster; removing it"
    fi
  done
  for ((i = 0; i < 100; i++)); do
    left=0
    for port in "${!pids[@]}"; do is_node "${pids[$port]}" "$port" && left=1; done
    ((left)) || break
    sleep 0.1
  done
  for port in "${!pids[@]}"; do
    if is_node "${pids[$port]}" "$port"; then
      say "node $port ignored SIGTERM for 10 s; sending SIGKILL"
      kill -KILL "${pids[$port]}" 2>/dev/null || true
    fi
  done
  for port; do rm -f "$dir/$port/redis.pid"; done
}

# fresh: no node knows another; formed: all six share one full slot table; silent: a
# node does not answer, which is no reason to wipe anything; otherwise mixed.
cluster_shape() {
  local port info known slots fresh=0 formed=0
  for port in "${ports[@]}"; do
    info=$(rcli "$port" cluster info) || true
    [[ $info == *cluster_state:* ]] || { echo silent; return; }
    known=$(field cluster_known_nodes "$info")
    slots=$(field cluster_slots_assigned "$info")
    [[ $known == 1 && $slots == 0 ]] && fresh=$((fresh + 1))
    [[ $known == 6 && $slots == 16384 ]] && formed=$((formed + 1))
  done
  if ((fresh == 6)); then echo fresh; elif ((formed == 6)); then echo formed; else echo mixed; fi
}

create_cluster() {
  local port addrs=()
  for port in "${ports[@]}"; do addrs+=("$host:$port"); done
  timeout "$wait_s" redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 \
    --cluster-yes </dev/null >"$dir/create.log" 2>&1 ||
    die "redis-cli --cluster create failed; see $dir/create.log"
}

# One node's picture of the cluster as sorted "id role master-id slots" lines, with a
# "bad" line when it sees any node failing, unreachable or still in handshake.
node_view() {
  awk '{
    role = "?"; bad = ($8 != "connected")
    n = split($3, flags, ",")
    for (i = 1; i <= n; i++) {
      if (flags[i] == "master" || flags[i] == "slave") role = flags[i]
      else if (flags[i] != "myself" && flags[i] != "nofailover") bad = 1
    }
    slots = ""
    for (i = 9; i <= NF; i++) slots = slots " " $i
    if (bad) print "bad"
    print $1, role, $4 slots
  }' | sort -u
}

# Ready means: every node says cluster_state:ok, every replica's link is up, all six
# nodes hold the same view, and that view has 3 masters with slots and 3 replicas.
check_ready() {
  local port info view first=''
  for port in "${ports[@]}"; do
    info=$(rcli "$port" cluster info) || true
    [[ $info == *cluster_state:ok* ]] || { why="node $port: cluster_state is not ok"; return 1; }
    info=$(rcli "$port" info replication) || true
    if [[ $info == *role:slave* && $info != *master_link_status:up* ]]; then
      why="node $port: replica link to its master is not up"
      return 1
    fi
    view=$(rcli "$port" cluster nodes | node_view) || true
    [[ $view != *bad* ]] || { why="node $port sees a node failing or joining"; return 1; }
    first=${first:-$view}
    [[ $view == "$first" ]] || { why="nodes ${ports[0]} and $port disagree on slots"; return 1; }
  done
  [[ $(awk '$2 == "master" && NF > 3' <<<"$first" | wc -l) == 3 &&
    $(awk '$2 == "slave"' <<<"$first" | wc -l) == 3 ]] ||
    { why="the cluster is not 3 masters with slots + 3 replicas"; return 1; }
}

wait_ready() {
  local deadline=$(($(now_ms) + wait_s * 1000))
  until check_ready; do
    (($(now_ms) < deadline)) ||
      die "not ready after $wait_s s: $why (logs: $dir/PORT/redis.log;" \
        "a broken state is cleared by: bash $0 down --purge)"
    sleep 0.1
  done
}

all_running() {
  local port
  for port in "${ports[@]}"; do node_pid "$port" >/dev/null || return 1; done
}

start_missing() {
  local port
  for port in "${ports[@]}"; do node_pid "$port" >/dev/null || start_node "$port"; done
}

cmd_up() {
  local start shape port
  start=$(now_ms)
  [[ $# == 0 ]] || die "up takes no arguments"
  ensure_redis
  check_dir
  lock_dir
  if all_running && check_ready; then
    say "already up and ok on $host:${ports[0]}-${ports[5]} ($(since "$start"))"
    return 0
  fi
  start_missing
  shape=$(cluster_shape)
  if [[ $shape == mixed ]]; then
    # A partly created or partly wiped cluster is cheaper to rebuild than to repair.
    say "state in $dir is inconsistent; wiping it and creating the cluster again"
    stop_nodes "${ports[@]}"
    for port in "${ports[@]}"; do rm -rf -- "${dir:?}/$port"; done
    start_missing
    shape=fresh
  fi
  [[ $shape == fresh ]] && create_cluster
  wait_ready
  say "up in $(since "$start"): 3 masters + 3 replicas on $host:${ports[0]}-${ports[5]}"
}

cmd_down() {
  local purge=0
  case ${1:-} in
    '') ;;
    --purge) purge=1 ;;
    *) die "usage: down [--purge]" ;;
  esac
  if [[ ! -d $dir ]]; then
    say "nothing to stop: $dir does not exist"
    return 0
  fi
  check_dir
  if [[ ! -f $dir/$marker ]]; then
    ((purge)) && rmdir -- "$dir"
    say "nothing to stop in $dir"
    return 0
  fi
  lock_dir
  stop_nodes "${ports[@]}"
  if ((purge)); then
    rm -rf -- "$dir"
    say "stopped; removed $dir"
  else
    say "stopped; data kept in $dir"
  fi
}

cmd_status() {
  local port pid repl info role master link state ok=1
  need redis-cli
  [[ -f $dir/$marker ]] || die "no cluster in $dir"
  check_dir
  printf '%-6s %-8s %-8s %-7s %-5s %s\n' port pid role master link cluster_state
  for port in "${ports[@]}"; do
    if ! pid=$(node_pid "$port"); then
      printf '%-6s %-8s %s\n' "$port" - down
      ok=0
      continue
    fi
    repl=$(rcli "$port" info replication) || true
    info=$(rcli "$port" cluster info) || true
    role=$(field role "$repl") master=- link=-
    if [[ $role == slave ]]; then
      role=replica master=$(field master_port "$repl") link=$(field master_link_status "$repl")
    fi
    state=$(field cluster_state "$info")
    [[ $state == ok ]] || ok=0
    printf '%-6s %-8s %-8s %-7s %-5s %s\n' "$port" "$pid" "${role:-?}" "$master" "$link" \
      "${state:-no answer}"
  done
  if ((ok)) && check_ready; then
    say "ok ($dir)"
  else
    say "not ok: ${why:-a node is down or its cluster_state is not ok}"
    return 1
  fi
}

cmd_restart_node() {
  local port=${1:-} wait=1 start
  start=$(now_ms)
  [[ ${2:-} == --no-wait ]] && wait=0
  [[ " ${ports[*]} " == *" $port "* ]] ||
    die "usage: restart-node PORT [--no-wait], PORT one of ${ports[*]}"
  need redis-server redis-cli
  check_dir
  [[ -f $dir/$port/nodes.conf ]] || die "node $port has no state in $dir; use: bash $0 up"
  lock_dir
  if node_pid "$port" >/dev/null; then
    say "node $port is already running"
  else
    start_node "$port"
  fi
  ((wait)) || { say "node $port started ($(since "$start"))"; return 0; }
  wait_ready
  say "node $port is running and the cluster is ok ($(since "$start"))"
}

main() {
  local cmd=${1:-}
  shift || true
  setup
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    restart-node) cmd_restart_node "$@" ;;
    *) die "usage: bash $0 up | down [--purge] | status | restart-node PORT [--no-wait]" ;;
  esac
}

main "$@"
