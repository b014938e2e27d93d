#!/usr/bin/env bash
# The AWS credential chain, in the order AWS tools use it: environment, then the shared
# credentials/config files (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), then the
# EC2 instance role through IMDSv2 (a loopback mock), with refresh before Expiration. The proxy
# verifies every signature, so a job only passes if the right secret was found.
. "$(dirname "$0")/lib.sh"
start_moto
"$TALLY" gen --out "$T/data" --files 4 --rows 3000 --seed 29 2> "$T/gen.log"
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" nyc-tlc "trip data/" "$T/data"
AK=AKIAEXAMPLECHAIN0001 SK=chainSecret/with+symbols=0123456789abcdefghij
PROXY_SECRET="$SK" start_proxy --access "$AK"

# job NAME [env assignments...]: run with exactly that environment (no AWS_* from outside).
job () {
    local name=$1; shift
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE HOME="$T/nohome" \
        "$@" "$TALLY" run --input "s3://nyc-tlc/trip data/" --group-by passenger_count --endpoint-url "$PROXY" \
        --format json -v --rate-limit 300K --slots 1 > "$T/$name.json" 2> "$T/$name.log"
}
expect_source () {  # expect_source NAME PATTERN
    check_truth "$T/$1.json" "$T/data.truth.json" passenger_count > /dev/null || fail "$1: wrong totals"
    grep -q "AWS credentials from $2" "$T/$1.log" || fail "$1: credentials not from '$2': $(grep -m1 'credentials' "$T/$1.log")"
    grep -q -- "$SK" "$T/$1.log" && fail "$1: the secret appeared in a log"
    pass "$1: credentials from $2"
}

job env AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK &
JOBPID=$!
sleep 1
ps -eo args > "$T/ps.txt"
wait $JOBPID || true
grep -q "tally" "$T/ps.txt" || fail "no tally process seen in ps"
grep -q -- "$SK" "$T/ps.txt" && fail "the secret appeared in ps output"
expect_source env "environment"

mkdir -p "$T/home/.aws"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AK" "$SK" > "$T/home/.aws/credentials"
job files HOME="$T/home"
expect_source files "profile default in $T/home/.aws/credentials"

printf '[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n[alt]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$AK" "$SK" > "$T/creds.ini"
job profile AWS_SHARED_CREDENTIALS_FILE="$T/creds.ini" AWS_PROFILE=alt
expect_source profile "profile alt in $T/creds.ini"

printf '[profile cfg]\nregion = eu-west-1\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AK" "$SK" > "$T/config.ini"
job config AWS_CONFIG_FILE="$T/config.ini" AWS_PROFILE=cfg
expect_source config "profile cfg in $T/config.ini"

# IMDSv2: credentials that live 302 s are refreshed once fewer than 300 s are left, so a job
# of a few seconds fetches them again.
IP=$(free_port)
bg imds-mock python3 "$TALLY_SRC/tests/tools/imds_mock.py" "$IP" s3-readonly "$AK" "$SK" 302
until curl -s -o /dev/null -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 1' "http://127.0.0.1:$IP/latest/api/token"; do
    sleep 0.1
done
job imds AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$IP"
expect_source imds "instance role s3-readonly (IMDSv2 at http://127.0.0.1:$IP)"
grep -q "token=no" "$T/imds-mock.log" && fail "a metadata request went without the IMDSv2 token"
fetches=$(grep -c "GET /latest/meta-data/iam/security-credentials/s3-readonly token=yes" "$T/imds-mock.log")
tokens=$(grep -c "PUT /latest/api/token" "$T/imds-mock.log")
echo "IMDS mock: $tokens token request(s), $fetches credential fetch(es)"
grep -q "AWS credentials from instance role" "$T/imds.log"
# broker and mapper each fetch once; the mapper fetches again as the 2 s of slack run out.
[ "$fetches" -ge 3 ] || fail "temporary credentials were not refreshed ($fetches fetches)"
pass "IMDSv2: token first, then role, then credentials; refreshed before Expiration"

# Nothing anywhere (and metadata disabled): one line that says where it looked.
job none AWS_EC2_METADATA_DISABLED=true && fail "ran without any credentials"
grep -q "no AWS credentials: none in the environment" "$T/none.log" || fail "missing credentials not explained"
grep -m1 "no AWS credentials" "$T/none.log" | sed 's/.*ERROR/ERROR/'
pass "no credentials anywhere: one line naming every place looked"
