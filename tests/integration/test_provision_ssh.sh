#!/usr/bin/env bash
# tally provision with the ssh backend through a real sshd (Debian's openssh-server on a loopback
# port, throw-away keys) and with the local backend: mappers start, join, finish a job with
# exact totals, and down stops them. A host that refuses ssh gets its own error line and does
# not stop the others.
. "$(dirname "$0")/lib.sh"
command -v /usr/sbin/sshd > /dev/null || fail "openssh-server is not installed (scripts/deps installs it)"

SP=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/userkey"
cp "$T/userkey.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
cat > "$T/sshd_config" <<CONF
Port $SP
ListenAddress 127.0.0.1
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $T/sshd.pid
PermitRootLogin prohibit-password
CONF
mkdir -p /run/sshd 2>/dev/null || true
bg sshd /usr/sbin/sshd -D -e -f "$T/sshd_config"
U=$(id -un)
SSHO=(--identity "$T/userkey" --ssh-option StrictHostKeyChecking=no --ssh-option UserKnownHostsFile=/dev/null
      --ssh-option LogLevel=ERROR)
i=0
until ssh -p "$SP" -i "$T/userkey" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
          -o LogLevel=ERROR "$U@127.0.0.1" true 2> "$T/probe.log"; do
    i=$((i + 1)); [ $i -gt 50 ] && fail "sshd did not start: $(cat "$T/probe.log")"; sleep 0.2
done
RD=".tally-test-$$"
# Running, and not a zombie (PID 1 of a container may never reap the orphans).
alive () { local s; s=$(ps -o stat= -p "$1" 2>/dev/null || true); [ -n "$s" ] && [[ $s != Z* ]]; }
ON_EXIT="rm -rf \"\$HOME/$RD\""

"$TALLY" gen --out "$T/data" --files 4 --rows 40000 --seed 8 2> "$T/gen.log"
job () {   # job NAME: a reducer and broker pair; sets BROKER and PUB
    local rp bp pp; rp=$(free_port); bp=$(free_port); pp=$(free_port)
    bg "reducer-$1" "$TALLY" reducer --listen "tcp://127.0.0.1:$rp" --publish "tcp://127.0.0.1:$pp"
    bg "broker-$1" "$TALLY" broker --listen "tcp://127.0.0.1:$bp" --reducer "tcp://127.0.0.1:$rp" --input "$T/data" \
        --group-by passenger_count --split-size 2M
    wait_for "$T/broker-$1.log" "ready"
    BROKER="tcp://127.0.0.1:$bp"; PUB="tcp://127.0.0.1:$pp"
}

# --- ssh: two hosts that work and one that refuses.
job ssh
CLOSED=$(free_port)
printf '# test hosts\n%s@127.0.0.1:%s\n%s@127.0.0.1:%s   # the same sshd again\n%s@127.0.0.1:%s\n' \
    "$U" "$SP" "$U" "$SP" "$U" "$CLOSED" > "$T/hosts"
if "$TALLY" provision up --backend ssh --hosts "$T/hosts" "${SSHO[@]}" --broker "$BROKER" --fleet s1 --slots 1 \
        --state-dir "$T/st" --remote-dir "$RD" --wait 60 --mapper-args "--rate-limit 3M" > "$T/up.txt" 2> "$T/up.log"; then
    fail "up should report the refusing host"
fi
grep -q "host $U@127.0.0.1: .*port $CLOSED: Connection refused" "$T/up.log" || fail "no per-host error: $(cat "$T/up.log")"
grep -q 'fleet s1: 2 of 2 mapper(s) joined' "$T/up.txt" || fail "joins: $(cat "$T/up.txt" "$T/up.log")"
pass "ssh: 2 hosts started mappers that joined; the refusing host got its own error"

"$TALLY" watch --subscribe "$PUB" --until-done --format json --timeout 120 > "$T/ssh.json" 2> "$T/watch-ssh.log"
check_truth "$T/ssh.json" "$T/data.truth.json" passenger_count || fail "ssh totals"
pass "ssh mappers finish the job: exact"

pids=$(python3 -c "import json,sys; print(' '.join(str(h['pid']) for h in json.load(open(sys.argv[1]))['hosts']))" "$T/st/provision/s1.json")
[ -n "$pids" ] || fail "no pids in the state"
for p in $pids; do alive "$p" || fail "mapper $p is not running before down"; done
"$TALLY" provision status --fleet s1 --state-dir "$T/st" > "$T/status.txt" 2>&1 || fail "status"
grep -q 'ssh backend, 2 mapper(s) started' "$T/status.txt" || fail "status: $(cat "$T/status.txt")"
"$TALLY" provision down --fleet s1 --state-dir "$T/st" "${SSHO[@]}" > "$T/down.txt" 2> "$T/down.log" || fail "down: $(cat "$T/down.log")"
grep -q 'fleet s1: 2 of 2 ssh mapper(s) stopped' "$T/down.txt" || fail "down: $(cat "$T/down.txt")"
for p in $pids; do ! alive "$p" || fail "mapper $p still runs after down"; done
[ ! -e "$T/st/provision/s1.json" ] || fail "state left after down"
pass "ssh: down stopped both mappers"

# --- local backend.
job local
"$TALLY" provision up --backend local --count 2 --slots 1 --broker "$BROKER" --fleet l1 --state-dir "$T/st" \
    --wait 60 --mapper-args "--rate-limit 3M" > "$T/lup.txt" 2> "$T/lup.log" || fail "local up: $(cat "$T/lup.log")"
grep -q 'fleet l1: 2 of 2 mapper(s) joined' "$T/lup.txt" || fail "local joins"
"$TALLY" watch --subscribe "$PUB" --until-done --format json --timeout 120 > "$T/local.json" 2> "$T/watch-local.log"
check_truth "$T/local.json" "$T/data.truth.json" passenger_count || fail "local totals"
pids=$(python3 -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['pids'])))" "$T/st/provision/l1.json")
"$TALLY" provision down --fleet l1 --state-dir "$T/st" > "$T/ldown.txt" 2>&1 || fail "local down"
for p in $pids; do ! alive "$p" || fail "local mapper $p still runs after down"; done
pass "local: 2 mappers joined, exact totals, down stopped them"

"$TALLY" provision down --fleet nothing --state-dir "$T/st" > "$T/none.txt" 2>&1 && fail "down of an unknown fleet"
grep -q "no fleet 'nothing' here" "$T/none.txt" || fail "unknown fleet message: $(cat "$T/none.txt")"
pass "an unknown fleet: a clear error"
