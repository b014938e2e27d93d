# Shared helpers for rt13's reproductions: a reducer/broker/mappers on loopback TCP, restartable.
# Source after setting TALLY and TALLY_SRC; uses tests/integration/lib.sh (bg, free_port, cleanup).
. "$TALLY_SRC/tests/integration/lib.sh"
F13=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ON_EXIT="rm -rf ${KEEPDIR:-/tmp/rt13/last}; cp -r \"\$T\" ${KEEPDIR:-/tmp/rt13/last}"
RP=$(free_port); PP=$(free_port); BP=$(free_port); RM=$(free_port)
NR=0; NB=0; NM=0
# start_reducer [ARGS...]: sets RED
start_reducer () {
    NR=$((NR + 1))
    bg "reducer$NR" "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" \
        --metrics-listen "127.0.0.1:$RM" -v "$@"
    RED=$LAST_PID
}
# start_broker [ARGS...]: sets BRO
start_broker () {
    NB=$((NB + 1))
    bg "broker$NB" "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" \
        --hb-ms 200 --lease-ms 1000 "$@"
    BRO=$LAST_PID
}
# start_mapper [ARGS...]: sets MAP
start_mapper () {
    NM=$((NM + 1))
    bg "mapper$NM" "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --name "m$NM" "$@"
    MAP=$LAST_PID
}
metric () { curl -sf "http://127.0.0.1:$RM/metrics" | sed -n "s/^$1\({[^}]*}\)\{0,1\} //p"; }
alive () { kill -0 "$1" 2>/dev/null && ! grep -q '^Z' "/proc/$1/stat" 2>/dev/null && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ]; }
rsleep () { python3 -c "import random,time; time.sleep(random.uniform($1,$2))"; }
