#!/usr/bin/env bash
# Chaos on real hosts: 5 network namespaces joined by veth pairs to a bridge
# (the bridge itself lives in a sixth, "hub" namespace, so the host's own
# interfaces, routes and firewall are never touched), one example node per
# namespace over real UDP on 10.77.0.N, gossip sealed with a cluster key. A
# DNS server (dnsmasq, in the hub at 10.77.0.254) serves the seed name
# seeds.chaos.test with three A records; the nodes are given only that name
# (and missing.chaos.test, which does not resolve), through
# /etc/netns/NAME/resolv.conf, which `ip netns exec` puts in place of
# /etc/resolv.conf. Then scripts/chaos_driver.ts cuts a host off, splits the
# cluster 2/3, drops 30 % of datagrams, rotates the cluster keys on every
# host, changes the seed record and stops the DNS server (see there).
# Everything it made is removed on exit, even on failure or Ctrl-C.
#
#   sudo bash scripts/chaos_netns.sh          # about 3 to 4 minutes
#   CHAOS_LOSS_SECONDS=20 bash scripts/chaos_netns.sh   # a shorter loss phase
#   CHAOS_REQUIRED=1 bash scripts/chaos_netns.sh        # a skip is an error
#   CHAOS_FIREWALL=nft bash scripts/chaos_netns.sh      # nft even when iptables works
#
# Prints "chaos_netns: SKIPPED: <why>" and exits 0 when the machine cannot
# run it (not root, no ip netns, no iptables nor nft, no dnsmasq), unless
# CHAOS_REQUIRED=1.
set -uo pipefail
cd "$(dirname "$0")/.."

NODES=5
LOSS_SECONDS=${CHAOS_LOSS_SECONDS:-120}
INTERVAL_MS=${CHAOS_INTERVAL_MS:-500}
SEED_REFRESH_MS=2000
TIME_LIMIT_S=600
DNS_ADDR=10.77.0.254
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
command -v dnsmasq >/dev/null 2>&1 || skip "dnsmasq is not installed (apt-get install dnsmasq-base)"

namespaces=()
pids=()
etc_dirs=()
made_etc_netns=0
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
  for dir in "${etc_dirs[@]}"; do rm -rf "$dir"; done
  [ "$made_etc_netns" = 1 ] && rmdir /etc/netns 2>/dev/null
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
  left=$((left + $(find /etc/netns -maxdepth 1 -name "chaos-$TAG-*" 2>/dev/null | wc -l)))
  echo "chaos_netns: cleaned up (${#pids[@]} processes stopped, ${#namespaces[@]} namespaces and" \
    "${#etc_dirs[@]} resolv.conf directories removed, $left left)"
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
ip -n "$HUB" addr add "$DNS_ADDR/24" dev br0
ip -n "$HUB" link set br0 up
for i in $(seq 1 "$NODES"); do
  ns="chaos-$TAG-n$i"
  add_namespace "$ns" || exit 1
  ip -n "$HUB" link add "h$i" type veth peer name eth0 netns "$ns" || exit 1
  ip -n "$HUB" link set "h$i" master br0 up
  ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
done

# The seed name's three A records, served from the hub; the driver rewrites them later (and SIGHUPs dnsmasq).
printf '10.77.0.%s seeds.chaos.test\n' 1 2 3 >"$logs/seeds.hosts"
ip netns exec "$HUB" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
  --user=root --listen-address="$DNS_ADDR" --bind-interfaces --port=53 --addn-hosts="$logs/seeds.hosts" \
  --local=/chaos.test/ --local-ttl=0 --pid-file= --log-facility=- --log-queries >"$logs/dnsmasq.log" 2>&1 &
dns_pid=$!
pids+=("$dns_pid")
for _ in $(seq 1 50); do grep -q "read .*seeds.hosts" "$logs/dnsmasq.log" 2>/dev/null && break; sleep 0.1; done
kill -0 "$dns_pid" 2>/dev/null || { echo "chaos_netns: FAILED: dnsmasq did not start"; cat "$logs/dnsmasq.log"; exit 1; }

# Each node's namespace resolves through the hub: `ip netns exec` mounts this over /etc/resolv.conf.
if [ ! -d /etc/netns ]; then mkdir /etc/netns && made_etc_netns=1; fi
for i in $(seq 1 "$NODES"); do
  dir="/etc/netns/chaos-$TAG-n$i"
  mkdir "$dir" || exit 1
  etc_dirs+=("$dir")
  printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS_ADDR" >"$dir/resolv.conf"
done

# The first cluster key; the driver rotates to a second one.
mkdir "$logs/keys"
key=$(head -c 32 /dev/urandom | base64)
for i in $(seq 1 "$NODES"); do echo "$key" >"$logs/keys/n$i.keys"; done

# One node per namespace, Deno and Bun in turn, seeded by the DNS name only.
node_pids=()
for i in $(seq 1 "$NODES"); do
  ns="chaos-$TAG-n$i"
  if [ $((i % 2)) = 1 ]; then runtime=("$BIN/deno" run -A); else runtime=("$BIN/bun"); fi
  ip netns exec "$ns" "${runtime[@]}" examples/node.ts \
    --node-id "n$i" --listen "10.77.0.$i:7000" --http "10.77.0.$i:8000" \
    --seed seeds.chaos.test:7000 --seed missing.chaos.test:7000 --seed-refresh-ms "$SEED_REFRESH_MS" \
    --key-file "$logs/keys/n$i.keys" \
    --interval-ms "$INTERVAL_MS" --initial-interval-ms "$INTERVAL_MS" --log-level info \
    >"$logs/n$i.log" 2>&1 &
  pids+=($!)
  node_pids+=("n$i=$!")
done

# In the background so that a signal to this script is handled at once (wait is interruptible).
ip netns exec "$HUB" timeout "$TIME_LIMIT_S" "$BIN/deno" run -A scripts/chaos_driver.ts \
  --tag "$TAG" --nodes "$NODES" --fw "$FW" --loss-seconds "$LOSS_SECONDS" --interval-ms "$INTERVAL_MS" \
  --logs "$logs" --pids "$(IFS=,; echo "${node_pids[*]}")" --dns-pid "$dns_pid" \
  --seed-refresh-ms "$SEED_REFRESH_MS" &
driver=$!
pids+=("$driver")
wait "$driver"
status=$?
[ "$status" = 124 ] && echo "chaos_netns: FAILED: the driver ran over ${TIME_LIMIT_S} s"
exit "$status"
