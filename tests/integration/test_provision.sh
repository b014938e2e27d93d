#!/usr/bin/env bash
# tally provision against moto's EC2 API (and the local backend): a full up / status / down cycle
# with spot requests and tags; the user-data checked for its install step, service, broker and
# lifetime guard; the exact mapper command line it would start is run here and joins the broker
# and the totals are exact; bad input gives clear errors, and down cleans up after a failed up.
. "$(dirname "$0")/lib.sh"
: "${TALLY_BUILD:?TALLY_BUILD must point at the build folder}"
start_moto
export AWS_ENDPOINT_URL="$ENDPOINT"
SD="$T/state"
py () { python3 - "$@"; }

cpack -G DEB --config "$TALLY_BUILD/CPackConfig.cmake" -B "$T/pkg" > "$T/cpack.log" 2>&1 || fail "cpack"
DEB=$(ls "$T"/pkg/tally_*.deb)
py <<PY
import boto3
boto3.client("s3", endpoint_url="$ENDPOINT", region_name="us-east-1").create_bucket(Bucket="stage")
PY

"$TALLY" gen --out "$T/data" --files 4 --rows 40000 --seed 5 2> "$T/gen.log"
BP=$(free_port); RP=$(free_port); PP=$(free_port)
BROKER="tcp://127.0.0.1:$BP"
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
bg broker "$TALLY" broker --listen "tcp://*:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data" \
    --group-by passenger_count --split-size 2M
wait_for "$T/broker.log" "ready"

# --- price, and bad input that must create nothing.
"$TALLY" provision price --instance-type i3en.2xlarge > "$T/price.txt" 2> "$T/price.log" || fail "price"
grep -q 'us-east-1a' "$T/price.txt" && grep -q 'on-demand  *0.9040' "$T/price.txt" || fail "price: $(cat "$T/price.txt")"
pass "price: spot per zone and on-demand"

expect_err () {   # expect_err PATTERN CMD...: fails with a message matching PATTERN
    local pat=$1; shift
    if "$@" > "$T/err.out" 2> "$T/err.log"; then fail "should have failed: $*"; fi
    grep -q -- "$pat" "$T/err.log" "$T/err.out" || fail "expected '$pat' from: $* -- got: $(cat "$T/err.log")"
}
UP=(--backend ec2 --spot --instance-type i3en.2xlarge --ami ami-12c6146b --deb "$DEB" --stage s3://stage/pkgs
    --state-dir "$SD" --max-lifetime 45m)
expect_err "unknown instance type 'x9.bogus'" "$TALLY" provision up "${UP[@]}" --instance-type x9.bogus --broker "$BROKER"
expect_err "did not answer within 5 s" "$TALLY" provision up "${UP[@]}" --broker "tcp://127.0.0.1:$(free_port)" --fleet nob
expect_err "no AWS credentials" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    AWS_CONFIG_FILE=/nonexistent "$TALLY" provision up "${UP[@]}" --broker "$BROKER" --fleet nocreds
expect_err "backend is ec2, ssh or local" "$TALLY" provision up --backend gcp --broker "$BROKER"
expect_err "max-lifetime is a duration" "$TALLY" provision up "${UP[@]}" --broker "$BROKER" --max-lifetime forever
py <<PY || fail "a failed up left instances behind"
import boto3
ec2 = boto3.client("ec2", endpoint_url="$ENDPOINT", region_name="us-east-1")
r = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["tally-fleet"]}])
assert not r["Reservations"], r
PY
pass "bad input (instance type, broker unreachable, no credentials, flags): clear errors, nothing created"

# --- a failed up after staging rolls back: RunInstances fails on a subnet that does not exist.
expect_err "RunInstances" "$TALLY" provision up "${UP[@]}" --broker "$BROKER" --fleet broken --subnet subnet-0bogus
py <<PY || fail "a failed RunInstances left the staged package"
import boto3
s3 = boto3.client("s3", endpoint_url="$ENDPOINT", region_name="us-east-1")
assert s3.list_objects_v2(Bucket="stage").get("KeyCount", 0) == 0
PY
[ ! -e "$SD/provision/broken.json" ] || fail "state of a rolled-back fleet left behind"
pass "a failed up rolls back (staged package deleted, no state left)"

# --- up: 2 spot instances. up waits for joins; we play the instances by running the exact
#     command their user-data starts.
bg up "$TALLY" provision up "${UP[@]}" --broker "$BROKER" --fleet f1 --count 2 --slots 1 --wait 120 \
    --mapper-args "--rate-limit 3M"
wait_for "$T/up.log" "2 of 2 spot instance(s)" 30
py > "$T/instances.txt" <<PY || fail "instances"
import boto3, base64
ec2 = boto3.client("ec2", endpoint_url="$ENDPOINT", region_name="us-east-1")
r = ec2.describe_instances(Filters=[{"Name": "tag:tally-fleet", "Values": ["f1"]}])
insts = [i for res in r["Reservations"] for i in res["Instances"]]
assert len(insts) == 2, insts
for i in insts:
    assert i.get("InstanceLifecycle") == "spot", i
    tags = {t["Key"]: t["Value"] for t in i["Tags"]}
    assert tags["tally-fleet"] == "f1" and tags["Name"] == "tally-f1", tags
    a = ec2.describe_instance_attribute(InstanceId=i["InstanceId"], Attribute="instanceInitiatedShutdownBehavior")
    assert a["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate", a
    ud = ec2.describe_instance_attribute(InstanceId=i["InstanceId"], Attribute="userData")["UserData"]["Value"]
    open("$T/userdata-" + i["InstanceId"], "w").write(base64.b64decode(ud).decode())
    print(i["InstanceId"])
PY
for id in $(cat "$T/instances.txt"); do
    U="$T/userdata-$id"
    grep -q '^shutdown -P +45 ' "$U" || fail "user-data lacks the lifetime guard"
    grep -q 'apt-get install -y -q /tmp/tally.deb' "$U" || fail "user-data lacks the install step"
    grep -q '^systemctl enable --now tally-mapper.service' "$U" || fail "user-data lacks the service"
    grep -qx "TALLY_BROKER=$BROKER" "$U" || fail "user-data lacks the broker"
    url=$(grep -o "curl -fsSL --retry 5 -o /tmp/tally.deb '[^']*'" "$U" | sed "s/.*'\(.*\)'/\1/")
    curl -fsS -o "$T/fetched.deb" "$url" || fail "the presigned package URL does not work"
    cmp "$T/fetched.deb" "$DEB" || fail "the staged package differs"
    # The service's command line: ExecStart of the unit in the .deb, with /etc/default/tally-mapper.
    TALLY_BROKER=$(sed -n 's/^TALLY_BROKER=//p' "$U")
    TALLY_MAPPER_ARGS=$(sed -n 's/^TALLY_MAPPER_ARGS=//p' "$U")
    exec_start=$(sed -n 's/^ExecStart=//p' "$TALLY_SRC/packaging/tally-mapper.service")
    [ -n "$exec_start" ] || fail "no ExecStart in the unit"
    cmdline=${exec_start//\/usr\/bin\/tally/$TALLY}
    echo "$id: $cmdline  [TALLY_BROKER=$TALLY_BROKER TALLY_MAPPER_ARGS=$TALLY_MAPPER_ARGS]" >> "$T/cmdlines.txt"
    bg "instance-$id" env TALLY_BROKER="$TALLY_BROKER" TALLY_MAPPER_ARGS="$TALLY_MAPPER_ARGS" bash -c "$cmdline"
done
pass "user-data: install step, service unit, broker, lifetime guard; the package URL fetches the .deb"
UPPID=$LAST_PID
for p in "${PIDS[@]}"; do :; done
wait_for "$T/up.log" "2 of 2 mapper(s) joined" 60
grep -q 'fleet f1: 2 of 2 mapper(s) joined' "$T/up.log" || fail "up did not report the joins"
grep -q 'mapper f1/' "$T/broker.log" || fail "the broker does not name the fleet"
pass "up waited for both mappers (run from the user-data's command line) to join"

"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$T/out.json" 2> "$T/watch.log"
check_truth "$T/out.json" "$T/data.truth.json" passenger_count || fail "totals"
pass "the provisioned mappers finish the job: exact"

"$TALLY" provision status --fleet f1 --state-dir "$SD" > "$T/status.txt" 2> "$T/status.log" || fail "status"
[ "$(grep -c ' running .*spot' "$T/status.txt")" = 2 ] || fail "status: $(cat "$T/status.txt")"
grep -q 'fleet f1: 2 instance(s), .* instance-hours, cost \$' "$T/status.txt" || fail "status cost line"
"$TALLY" provision down --fleet f1 --state-dir "$SD" > "$T/down.txt" 2> "$T/down.log" || fail "down: $(cat "$T/down.log")"
[ "$(grep -c ' terminated .*spot' "$T/down.txt")" = 2 ] || fail "down: $(cat "$T/down.txt")"
# Cost = instance-hours x spot price, per instance (moto's spot price is fixed).
py "$T/down.txt" <<'PY' || fail "cost arithmetic"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("i-")]
for r in rows:
    hours, rate, usd = float(r[5]), float(r[6]), float(r[7])
    assert hours > 0 and abs(hours * rate - usd) < 1e-5, r
PY
py <<PY || fail "after down"
import boto3
ec2 = boto3.client("ec2", endpoint_url="$ENDPOINT", region_name="us-east-1")
s3 = boto3.client("s3", endpoint_url="$ENDPOINT", region_name="us-east-1")
r = ec2.describe_instances(Filters=[{"Name": "tag:tally-fleet", "Values": ["f1"]}])
states = [i["State"]["Name"] for res in r["Reservations"] for i in res["Instances"]]
assert states and all(s == "terminated" for s in states), states
assert s3.list_objects_v2(Bucket="stage").get("KeyCount", 0) == 0
PY
[ ! -e "$SD/provision/f1.json" ] || fail "state file left after down"
pass "status and down: per-instance hours x spot price; all terminated, package deleted"

# --- down finds instances by tag even when the state file is gone (a lost laptop). A second
#     broker (the first ended with its job) that no mapper will join.
RP2=$(free_port); BP2=$(free_port)
bg reducer2 "$TALLY" reducer --listen "tcp://127.0.0.1:$RP2" --publish "tcp://127.0.0.1:$(free_port)"
bg broker2 "$TALLY" broker --listen "tcp://*:$BP2" --reducer "tcp://127.0.0.1:$RP2" --input "$T/data" --group-by 1
wait_for "$T/broker2.log" "ready"
"$TALLY" provision up "${UP[@]}" --broker "tcp://127.0.0.1:$BP2" --fleet f2 --count 1 --wait 0 > "$T/up2.txt" 2>&1 || true
rm -f "$SD/provision/f2.json"
"$TALLY" provision down --backend ec2 --fleet f2 --state-dir "$SD" > "$T/down2.txt" 2>&1 || fail "down by tag"
grep -q ' terminated ' "$T/down2.txt" || fail "down by tag: $(cat "$T/down2.txt" "$T/up2.txt")"
pass "down by tag without a state file"
