#!/usr/bin/env bash
# The web dashboard (issue 15) in a real headless Chromium, against a real job: a slow mapper
# (300K/s) that holds a whole 5 MB file and a fast one that finishes the rest and then steals
# the slow one's tail. tests/tools/web_check.mjs drives Debian's chromium through puppeteer-core
# and checks: no console error and no request off the machine; the progress and the bars move
# between two reads; the final page shows exactly the ground truth, done and ok; the task stream
# has lanes for both mappers and a steal; the event list has it too. Then the access rules:
# --keys keeps the dashboard on loopback unless --web-allow-remote, which wants the token; a
# Host that is not loopback is refused (DNS rebinding); /api/state has every group.
#
# Needs chromium (installed here with apt-get if missing, as scripts/deps does) and npm's
# puppeteer-core (installed into a scratch folder; it never downloads a browser). WEB_NPM_DIR
# reuses an install. TALLY_SCREENSHOTS=DIR also copies the screenshots there.
. "$(dirname "$0")/lib.sh"

python3 "$TALLY_SRC/cli/web_page.py" --check || fail "cli/web_page.c is stale"

if [ ! -x /usr/bin/chromium ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium; } \
        > "$T/apt.log" 2>&1 || { tail -5 "$T/apt.log" >&2; fail "could not install chromium: the browser test cannot run"; }
fi
NPM=${WEB_NPM_DIR:-$T/npm}
if [ ! -d "$NPM/node_modules/puppeteer-core" ]; then
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix "$NPM" puppeteer-core > "$T/npm.log" 2>&1 \
        || { tail -5 "$T/npm.log" >&2; fail "could not install puppeteer-core from npm: the browser test cannot run"; }
fi

"$TALLY" gen --out "$T/data" --files 3 --rows 40000 --seed 15 2> "$T/gen.log"
TRUTH="$T/data.truth.json"
RP=$(free_port); PP=$(free_port); BP=$(free_port); WP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" \
    --input "$T/data" --group-by passenger_count --split-size 0 --min-steal 64K --hb-ms 200
BROKER=$LAST_PID
# The slow mapper joins first and takes a whole file (about 17 s of work at 300K/s).
bg slow "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name slow --rate-limit 300K
wait_for "$T/broker.log" "mapper slow joined"
bg watch "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --web "127.0.0.1:$WP" --format json
WATCH=$LAST_PID
wait_for "$T/watch.log" "dashboard at http://127.0.0.1:$WP/"
node "$TALLY_SRC/tests/tools/web_check.mjs" "$NPM/node_modules" "http://127.0.0.1:$WP/" "$TRUTH" passenger_count "$T" \
    --want-steal --mappers=slow,fast > "$T/browser.log" 2>&1 &
NODE=$!
PIDS+=("$NODE")
sleep 1      # the page is open before the fast mapper starts: it sees the whole job
bg fast "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name fast --rate-limit 3M
rc=0; wait "$NODE" || rc=$?
cat "$T/browser.log"
[ $rc -eq 0 ] || fail "the browser check failed"
if [ -n "${TALLY_SCREENSHOTS:-}" ]; then
    mkdir -p "$TALLY_SCREENSHOTS"
    cp "$T"/web-*.png "$TALLY_SCREENSHOTS/"
    echo "screenshots in $TALLY_SCREENSHOTS"
fi
wait "$BROKER" || fail "broker exit code"
grep -q "steal: task .* cut at byte" "$T/broker.log" || fail "the broker logged no steal"

# The JSON API: every group, the same totals; ?q= filters; the SSE stream speaks first.
curl -sf "http://127.0.0.1:$WP/api/state" > "$T/state.json" || fail "/api/state"
python3 - "$T/state.json" "$TRUTH" <<'PY' || fail "/api/state is not the truth"
import json, sys
s = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))["by_column"]["passenger_count"]
got = {g["key"]: g["count"] for g in s["result"]["groups"]}
assert got == t, (got, t)
assert s["result"]["done"] and s["result"]["ok"] and s["n_groups"] == len(t) == s["shown"]
a = s["activity"]
assert a["available"] and {w["name"] for w in a["workers"]} == {"slow", "fast"}, a["workers"]
assert any(x["kind"] == "tail" for x in a["spans"]) and any(x["cut_ms"] is not None for x in a["spans"])
print(f"/api/state: {len(got)} groups, {len(a['spans'])} spans, {len(a['events'])} events")
PY
curl -sf "http://127.0.0.1:$WP/api/state?q=1&top=2" | python3 -c '
import json, sys; s = json.load(sys.stdin)
assert s["shown"] <= 2 and all("1" in g["key"] for g in s["result"]["groups"]), s' || fail "/api/state?q=&top="
curl -s -N --max-time 2 "http://127.0.0.1:$WP/api/events" > "$T/sse.txt" || true
grep -q '^event: state' "$T/sse.txt" && grep -q '^data: {"dashboard":1' "$T/sse.txt" || fail "/api/events sent no state"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: attacker.example:$WP" "http://127.0.0.1:$WP/api/state")
[ "$code" = 403 ] || fail "a request naming another Host got $code, not 403"
kill "$WATCH"
pass "JSON API: /api/state has every group, ?q= filters, /api/events streams; a foreign Host is refused"

# Access: with --keys, loopback only unless --web-allow-remote; that one wants the token.
"$TALLY" keygen --dir "$T/keys" > /dev/null 2>&1 || fail "keygen"
rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --keys "$T/keys" --web "0.0.0.0:$(free_port)" \
    > /dev/null 2> "$T/refused.log" || rc=$?
[ $rc -eq 2 ] && grep -q "web-allow-remote" "$T/refused.log" || fail "--keys with a public --web was not refused (rc $rc)"
rc=0; "$TALLY" run --input "$T/data" --group-by passenger_count --keys "$T/keys" --web "0.0.0.0:1" \
    > /dev/null 2> "$T/refused-run.log" || rc=$?
[ $rc -eq 2 ] || fail "tally run --keys with a public --web was not refused before starting (rc $rc)"
WP2=$(free_port)
bg remote "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --keys "$T/keys" --web "0.0.0.0:$WP2" --web-allow-remote
wait_for "$T/remote.log" "dashboard at http://.*:$WP2/?token="
TOKEN=$(sed -n 's/.*?token=\([0-9a-f]*\).*/\1/p' "$T/remote.log" | head -1)
[ ${#TOKEN} -eq 32 ] || fail "no token printed: $(cat "$T/remote.log")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WP2/api/state")
[ "$code" = 403 ] || fail "without the token: $code, not 403"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WP2/?token=0$TOKEN")
[ "$code" = 403 ] || fail "with a wrong token: $code, not 403"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WP2/?token=$TOKEN")
[ "$code" = 200 ] || fail "with the token: $code, not 200"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$WP2/api/state")
[ "$code" = 200 ] || fail "with the token as a bearer: $code, not 200"
pass "with --keys the dashboard stays on loopback unless --web-allow-remote, which asks for the printed token"
