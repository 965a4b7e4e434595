#!/usr/bin/env bash
# Chaos on real hosts: 5 network namespaces joined by veth pairs to a bridge
# (the bridge itself lives in a sixth, "hub" namespace, so the host's own
# interfaces, routes and firewall are never touched), one example node per
# namespace over real UDP on 10.77.0.N, then scripts/chaos_driver.ts cuts a
# host off, splits the cluster 2/3 and drops 30 % of datagrams (see there).
# Everything it made is removed on exit, even on failure or Ctrl-C.
#
#   sudo bash scripts/chaos_netns.sh          # about 3 to 4 minutes
#   CHAOS_LOSS_SECONDS=20 bash scripts/chaos_netns.sh   # a shorter loss phase
#   CHAOS_REQUIRED=1 bash scripts/chaos_netns.sh        # a skip is an error
#   CHAOS_FIREWALL=nft bash scripts/chaos_netns.sh      # nft even when iptables works
#
# Prints "chaos_netns: SKIPPED: <why>" and exits 0 when the machine cannot
# run it (not root, no ip netns, no iptables nor nft), unless CHAOS_REQUIRED=1.
set -uo pipefail
cd "$(dirname "$0")/.."

NODES=5
LOSS_SECONDS=${CHAOS_LOSS_SECONDS:-120}
INTERVAL_MS=${CHAOS_INTERVAL_MS:-500}
TIME_LIMIT_S=540
TAG=$(printf '%x' $$)
HUB="chaos-$TAG-hub"
BIN=node_modules/.bin

skip() {
  echo "chaos_netns: SKIPPED: $*"
  [ "${CHAOS_REQUIRED:-0}" = 1 ] && exit 1
  exit 0
}

[ "$(id -u)" = 0 ] || skip "not running as root (network namespaces and firewall rules need root)"
command -v ip >/dev/null 2>&1 || skip "iproute2's ip command is not installed"
[ -x "$BIN/deno" ] && [ -x "$BIN/bun" ] || skip "$BIN/deno or $BIN/bun missing (run npm ci)"

namespaces=()
pids=()
logs=$(mktemp -d)

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 30); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ "$status" != 0 ] && [ -d "$logs" ]; then
    for f in "$logs"/*.log; do
      [ -f "$f" ] || continue
      echo "--- last lines of $(basename "$f")"
      tail -n 15 "$f"
    done
  fi
  rm -rf "$logs"
  local left
  left=$(ip netns list 2>/dev/null | grep -c "^chaos-$TAG-" || true)
  echo "chaos_netns: cleaned up (${#pids[@]} processes stopped, ${#namespaces[@]} namespaces removed, $left left)"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

add_namespace() {
  ip netns add "$1" || return 1
  namespaces+=("$1")
  ip -n "$1" link set lo up
}

# Can this machine make namespaces, and which firewall works inside one?
add_namespace "chaos-$TAG-probe" || skip "cannot create network namespaces (ip netns add failed)"
FW=""
if [ "${CHAOS_FIREWALL:-}" != nft ] && command -v iptables >/dev/null 2>&1 &&
  ip netns exec "chaos-$TAG-probe" iptables -A INPUT -p udp -m statistic --mode random --probability 0.3 -j DROP 2>/dev/null; then
  FW=iptables
elif command -v nft >/dev/null 2>&1 &&
  ip netns exec "chaos-$TAG-probe" nft add table inet probe 2>/dev/null; then
  FW=nft
fi
ip netns del "chaos-$TAG-probe"
namespaces=()
[ -n "$FW" ] || skip "neither iptables (statistic match) nor nft works inside a namespace (apt-get install iptables)"

echo "chaos_netns: $NODES namespaces chaos-$TAG-n1..n$NODES on bridge 10.77.0.0/24 in $HUB, firewall $FW"
add_namespace "$HUB" || exit 1
ip -n "$HUB" link add br0 type bridge || exit 1
ip -n "$HUB" addr add 10.77.0.254/24 dev br0
ip -n "$HUB" link set br0 up
for i in $(seq 1 "$NODES"); do
  ns="chaos-$TAG-n$i"
  add_namespace "$ns" || exit 1
  ip -n "$HUB" link add "h$i" type veth peer name eth0 netns "$ns" || exit 1
  ip -n "$HUB" link set "h$i" master br0 up
  ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
done

# One node per namespace, Deno and Bun in turn; n1 is everyone's seed.
for i in $(seq 1 "$NODES"); do
  ns="chaos-$TAG-n$i"
  if [ $((i % 2)) = 1 ]; then runtime=("$BIN/deno" run -A); else runtime=("$BIN/bun"); fi
  ip netns exec "$ns" "${runtime[@]}" examples/node.ts \
    --node-id "n$i" --listen "10.77.0.$i:7000" --http "10.77.0.$i:8000" --seed 10.77.0.1:7000 \
    --interval-ms "$INTERVAL_MS" --initial-interval-ms "$INTERVAL_MS" --log-level warn \
    >"$logs/n$i.log" 2>&1 &
  pids+=($!)
done

# In the background so that a signal to this script is handled at once (wait is interruptible).
ip netns exec "$HUB" timeout "$TIME_LIMIT_S" "$BIN/deno" run -A scripts/chaos_driver.ts \
  --tag "$TAG" --nodes "$NODES" --fw "$FW" --loss-seconds "$LOSS_SECONDS" --interval-ms "$INTERVAL_MS" &
driver=$!
pids+=("$driver")
wait "$driver"
status=$?
[ "$status" = 124 ] && echo "chaos_netns: FAILED: the driver ran over ${TIME_LIMIT_S} s"
exit "$status"
