#!/usr/bin/env bash
# A mapper cut off from the network past its lease, then reconnected. The mapper runs in its
# own network namespace, joined to the broker's by a veth pair that the test takes down for
# 3 s (the lease is 1 s). Its tasks are re-issued elsewhere while it is away. It comes back,
# rejoins, and the totals are exact: nothing lost, nothing counted twice. Needs root (CI is).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || fail "needs root to make a network namespace"
command -v ip > /dev/null || fail "needs iproute2"

NS="tally-$$"; H="tlh$$"; M="tlm$$"
H="${H:0:15}"; M="${M:0:15}"
ON_EXIT="ip link del $H 2>/dev/null; ip netns del $NS 2>/dev/null"
ip netns add "$NS"
ip link add "$H" type veth peer name "$M"
ip link set "$M" netns "$NS"
ip addr add 10.231.7.1/30 dev "$H"
ip link set "$H" up
ip netns exec "$NS" ip addr add 10.231.7.2/30 dev "$M"
ip netns exec "$NS" ip link set "$M" up
ip netns exec "$NS" ip link set lo up
HOST=10.231.7.1

"$TALLY" gen --out "$T/data" --files 24 --rows 3000 --seed 17 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://$HOST:$RP" --publish "tcp://$HOST:$PP"
bg broker "$TALLY" broker --listen "tcp://$HOST:$BP" --reducer "tcp://$HOST:$RP" --input "$T/data" \
    --group-by passenger_count --hb-ms 200 --lease-ms 1000 --apply-timeout-ms 4000
BROKER=$LAST_PID
bg away ip netns exec "$NS" "$TALLY" mapper --broker "tcp://$HOST:$BP" --slots 2 --name away --rate-limit 250K
wait_for "$T/broker.log" "mapper away joined"
bg home "$TALLY" mapper --broker "tcp://$HOST:$BP" --slots 1 --name home --rate-limit 250K

# Let "away" hold tasks, then cut its link for three leases.
sleep 1.5
grep -q "mapper away joined" "$T/broker.log"
ip link set "$H" down
echo "link down at $(date +%T.%N)"
wait_for "$T/broker.log" "mapper away lost" 10
sleep 2
ip link set "$H" up
echo "link up at $(date +%T.%N)"
pass "partitioned mapper declared lost after its lease; its tasks re-queued"

"$TALLY" watch --subscribe "tcp://$HOST:$PP" --until-done --format json --timeout 180 > "$T/final.json"
check_truth "$T/final.json" "$T/data.truth.json" passenger_count || fail "totals after a partition"
wait "$BROKER" || fail "broker exit code"
grep -E "mapper away (joined|lost)" "$T/broker.log" | sed 's/.*broker: //'
python3 - "$T/final.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("tasks applied per mapper:", {m["name"]: m["tasks"] for m in r["mappers"]},
      "| duplicate partials ignored:", r["duplicates_ignored"])
PY
[ "$(grep -c 'mapper away joined' "$T/broker.log")" -ge 2 ] || fail "the partitioned mapper did not rejoin"
pass "partitioned mapper rejoined after the link came back; totals exact, no double counting"
