# Shared helpers for integration tests: temp dirs, free ports, moto, waiting, cleanup.
# Every process a test starts is recorded and killed (SIGKILL) on exit.
set -euo pipefail
: "${TALLY:?TALLY must point at the tally binary}"
: "${TALLY_SRC:?TALLY_SRC must point at the source tree}"
export AWS_EC2_METADATA_DISABLED=${AWS_EC2_METADATA_DISABLED:-true}   # never 169.254.169.254 from tests
T=$(mktemp -d /tmp/tally-test.XXXXXX)
PIDS=()
cleanup () {
    local rc=$?
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${ON_EXIT:-}" ]; then eval "$ON_EXIT" || true; fi
    release_ports
    if [ $rc -ne 0 ]; then
        echo "--- FAILED (rc=$rc); logs in $T:" >&2
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "=== $f" >&2; tail -25 "$f" >&2; }; done
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT

fail () { echo "FAIL: $*" >&2; exit 1; }
pass () { echo "ok - $*"; }

# free_port: a loopback port no other test of this run holds. Ports come from below the
# kernel's ephemeral range (so no outgoing connection of a parallel test takes one before
# its server binds it), each is reserved by an atomic mkdir under /tmp/tally-ports until
# this test exits, and it must bind. Two calls in one test, or in two parallel tests,
# never return the same port (bind-to-0-and-close could: the kernel may hand it out again).
TALLY_PORTS=/tmp/tally-ports
mkdir -p "$TALLY_PORTS"
free_port () {
    python3 - "$TALLY_PORTS" "$$" <<'PY'
import os, random, socket, sys, time
root, owner = sys.argv[1], sys.argv[2]
lo, hi = 20000, 32000
try:
    lo_eph = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    hi = min(hi, lo_eph - 1)
except OSError:
    pass
for name in os.listdir(root):                    # reservations of tests killed hours ago
    try:
        if time.time() - os.stat(os.path.join(root, name)).st_mtime > 3 * 3600:
            os.rmdir(os.path.join(root, name))
    except OSError:
        pass
for _ in range(2000):
    port = random.randint(lo, hi)
    try:
        os.mkdir(os.path.join(root, str(port)))
    except FileExistsError:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        os.rmdir(os.path.join(root, str(port)))
        continue
    finally:
        s.close()
    open(os.path.join(root, str(port), "owner"), "w").write(owner)
    print(port)
    sys.exit(0)
sys.exit("free_port: no free loopback port found")
PY
}
release_ports () {
    local d
    for d in "$TALLY_PORTS"/*/; do
        [ "$(cat "$d/owner" 2>/dev/null)" = "$$" ] && rm -rf "$d"
    done
    return 0
}

# bg NAME CMD...: start CMD in the background, logging to $T/NAME.log; sets $LAST_PID.
bg () {
    local name=$1; shift
    "$@" > "$T/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# wait_for FILE PATTERN [SECS]: wait until FILE contains PATTERN.
wait_for () {
    local file=$1 pat=$2 secs=${3:-30} i=0
    while ! grep -q -- "$pat" "$file" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt $((secs * 10)) ] && fail "timed out waiting for '$pat' in $file"
        sleep 0.1
    done
}

# start_moto: moto's S3 on a free loopback port; sets ENDPOINT.
start_moto () {
    local port; port=$(free_port)
    bg moto python3 -m moto.server -H 127.0.0.1 -p "$port"
    ENDPOINT="http://127.0.0.1:$port"
    local i=0
    until curl -s -o /dev/null "$ENDPOINT/"; do
        i=$((i + 1)); [ $i -gt 150 ] && fail "moto did not start"; sleep 0.1
    done
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
}

check_truth () { python3 "$TALLY_SRC/tests/tools/check_truth.py" "$@"; }

# start_nginx DIR: serve DIR over HTTP on a free loopback port (nginx from Debian, which
# honours Range); sets HTTP_BASE.
start_nginx () {
    local root=$1 port; port=$(free_port)
    chmod 755 "$T" "$root"   # nginx workers run as www-data
    mkdir -p "$T/nginx"
    cat > "$T/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 64; }
http {
    access_log $T/nginx/access.log;
    client_body_temp_path $T/nginx; proxy_temp_path $T/nginx; fastcgi_temp_path $T/nginx;
    uwsgi_temp_path $T/nginx; scgi_temp_path $T/nginx;
    server { listen 127.0.0.1:$port; root $root; }
}
CONF
    bg nginx nginx -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
    HTTP_BASE="http://127.0.0.1:$port"
    local i=0
    until curl -s -o /dev/null "$HTTP_BASE/"; do
        i=$((i + 1)); [ $i -gt 100 ] && fail "nginx did not start"; sleep 0.1
    done
}

# start_proxy ARGS...: the fault-injecting, signature-checking proxy in front of $ENDPOINT;
# sets PROXY (its URL) and PROXY_STATS (its counters, JSON).
start_proxy () {
    local port; port=$(free_port)
    PROXY_STATS="$T/proxy-stats.json"
    bg proxy env PROXY_SECRET="${PROXY_SECRET:-}" python3 "$TALLY_SRC/tests/tools/s3_proxy.py" "$port" "$ENDPOINT" \
        --stats "$PROXY_STATS" "$@"
    PROXY="http://127.0.0.1:$port"
    local i=0
    until curl -s -o /dev/null "$PROXY/"; do
        i=$((i + 1)); [ $i -gt 100 ] && fail "proxy did not start"; sleep 0.1
    done
}
stat_of () { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$PROXY_STATS" "$1"; }
