#!/usr/bin/env bash
# Bad flags fail at once (issue 16), including the ones `tally run` hands to its children: run
# parses every child's argv (and its own watch's) with that role's own parser before it makes a
# folder, opens a socket or forks (cli/run.c). Each bad flag, through run and straight to the
# role that owns it: exit 2, one line naming the flag and the value, the same line both ways,
# and, traced with strace -f, no process started, no socket, no folder. "At once" is shown by
# that structure; the wall time is printed for information only. Then the children die with
# run: `tally run ... | head -1` and a run killed with SIGKILL leave no process behind.
. "$(dirname "$0")/lib.sh"
command -v strace > /dev/null || fail "strace is needed (scripts/deps installs it)"
"$TALLY" gen --out "$T/data" --files 2 --rows 2000 --seed 5 2> "$T/gen.log"

# check NAME PATTERN CMD...: CMD exits 2 with one line on stderr that matches PATTERN (grep -E)
# and nothing on stdout; then, under strace -f, it starts no process and no thread (no fork,
# vfork, clone or second execve), opens no socket and makes no folder. Sets LINE (the line)
# and MS (the untraced run's wall time, information only). LeakSanitizer does not work under
# ptrace, so the traced run goes without it; the untraced one keeps it.
check () {
    local name=$1 pat=$2; shift 2
    local t0 t1 rc
    t0=$(date +%s%N)
    set +e; "$@" > "$T/$name.out" 2> "$T/$name.err"; rc=$?; set -e
    t1=$(date +%s%N)
    MS=$(( (t1 - t0) / 1000000 ))
    [ $rc -eq 2 ] || fail "$name: exit $rc, want 2: $(head -c 2000 "$T/$name.err")"
    [ "$(wc -l < "$T/$name.err")" -eq 1 ] || fail "$name: not one line: $(head -c 2000 "$T/$name.err")"
    [ ! -s "$T/$name.out" ] || fail "$name: wrote to stdout: $(head -c 500 "$T/$name.out")"
    LINE=$(cat "$T/$name.err")
    grep -Eq -- "$pat" <<< "$LINE" || fail "$name: want /$pat/, got: $LINE"
    set +e
    # (GLIBC_TUNABLES set as a plain build sets it, so that it does not execute itself again: cli/main.c.)
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -o "$T/$name.trace" \
        -e trace=process,socket,connect,bind,mkdir "$@" > /dev/null 2>&1
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$name: exit $rc under strace: $(head -c 2000 "$T/$name.trace")"
    local started
    started=$(( $(grep -Ec ' (v?fork|clone3?)\(' "$T/$name.trace" || true) + $(grep -c ' execve(' "$T/$name.trace") - 1 ))
    [ "$started" -eq 0 ] || fail "$name: started a process or thread: $(grep -E 'fork|clone|execve' "$T/$name.trace")"
    ! grep -Eq ' (socket|connect|bind)\(' "$T/$name.trace" || fail "$name: opened a socket: $(grep -E 'socket|connect|bind' "$T/$name.trace")"
    ! grep -Eq ' mkdir\(' "$T/$name.trace" || fail "$name: made a folder: $(grep mkdir "$T/$name.trace")"
}

RUN=(run --input "$T/data" --group-by passenger_count)
BROKER=(broker --listen tcp://127.0.0.1:1 --reducer tcp://127.0.0.1:2 --input "$T/data" --group-by passenger_count)
MAPPER=(mapper --broker tcp://127.0.0.1:1)
WATCH=(watch --subscribe tcp://127.0.0.1:1)

# The table: the flags as run takes them | the role that owns them (its command line without
# the flags) | what the one line must say. Through run and straight to the role, the same line.
n=0
while IFS='|' read -r flags role pat; do
    [ -n "$flags" ] || continue
    fl=(); eval "fl=($flags)"      # the flags as a shell would split them (quotes kept)
    case $role in
        broker) direct=("${BROKER[@]}") ;;
        mapper) direct=("${MAPPER[@]}") ;;
        watch)  direct=("${WATCH[@]}") ;;
    esac
    check "run$((++n))" "$pat" "$TALLY" "${RUN[@]}" "${fl[@]}"
    via_run=$LINE run_ms=$MS
    check "direct$n" "$pat" "$TALLY" "${direct[@]}" "${fl[@]}"
    [ "$via_run" = "$LINE" ] || fail "${fl[*]}: run says '$via_run', tally $role says '$LINE'"
    pass "run ${fl[*]}: exit 2, nothing started, the $role's own line: $via_run ($run_ms ms; tally $role: $MS ms)"
done <<EOF
--split-size 1K|broker|^tally broker: --split-size .*'1K'
--split-size lots|broker|^tally broker: --split-size .*'lots'
--where bogus|broker|^tally broker: --where 'bogus'
--where 'passenger_count >> 3'|broker|^tally broker: --where 'passenger_count >> 3'
--agg bogus|broker|^tally broker: --agg 'bogus'
--agg sum:|broker|^tally broker: --agg 'sum:': sum needs a column
--input-from "$T/no-such-list"|broker|^tally broker: --input-from $T/no-such-list: 
--input "$T/x{1..1000}{1..1000}"|broker|^tally broker: --input: .* expands to more than
--slots 0|mapper|^tally mapper: --slots .*'0'
--slots 2000|mapper|^tally mapper: --slots .*'2000'
--range-size 1K|mapper|^tally mapper: --range-size .*'1K'
--concurrency 0|mapper|^tally mapper: --concurrency .*'0'
--rate-limit 0|mapper|^tally mapper: --rate-limit .*'0'
--format xml|watch|^tally watch: --format .*'xml'
--sort size|watch|^tally watch: --sort .*'size'
--web nope|watch|^tally watch: --web .*'nope'
--web-allow-remote|watch|^tally watch: --web-allow-remote goes with --web
EOF

# run's own flags and its command line as such: run's line.
check run-mappers "^tally run: --mappers wants 1 to 256, not '-1'$" "$TALLY" "${RUN[@]}" --mappers -1
pass "run --mappers -1: $LINE ($MS ms)"
check run-mappers0 "^tally run: --mappers .*'0'" "$TALLY" "${RUN[@]}" --mappers 0
check run-unknown "^tally run: unrecognized option '--bogus' \(see tally run --help\)$" "$TALLY" "${RUN[@]}" --bogus
pass "run --bogus: $LINE ($MS ms)"
check run-novalue "^tally run: option '--slots' wants a value" "$TALLY" "${RUN[@]}" --slots
check run-novalue2 "^tally run: option '--quiet' takes no value" "$TALLY" "${RUN[@]}" --quiet=yes
check run-ambiguous "^tally run: ambiguous option '--s' \(--slots, --sort, --split-size, --skip-missing\)" "$TALLY" "${RUN[@]}" --s 3
check run-extra "^tally run: unexpected argument 'extra'" "$TALLY" "${RUN[@]}" extra
pass "run: a missing value, a value too many, an ambiguous prefix, a stray argument: one line each"

# Each role straight: an unknown flag is one line naming it, before anything connects.
for role in broker mapper reducer watch scan gen keygen; do
    check "unknown-$role" "^tally $role: unrecognized option '--bogus' \(see tally $role --help\)$" "$TALLY" "$role" --bogus
done
check reducer-novalue "^tally reducer: option '--listen' wants a value" "$TALLY" reducer --listen
check mapper-fleet "^tally mapper: --fleet .*'a/b'" "$TALLY" "${MAPPER[@]}" --fleet a/b
check mapper-page "^tally mapper: --max-page-size .*'1K'" "$TALLY" "${MAPPER[@]}" --max-page-size 1K
check broker-hb "^tally broker: --hb-ms .*'1'" "$TALLY" "${BROKER[@]}" --hb-ms 1
check broker-verify "^tally broker: --verify-fraction .*'2'" "$TALLY" "${BROKER[@]}" --verify-fraction 2
check watch-timeout "^tally watch: --timeout .*'0'" "$TALLY" "${WATCH[@]}" --timeout 0
pass "broker, mapper, reducer, watch, scan, gen, keygen: an unknown flag or a bad value is one line, nothing started"

# provision up hands its mappers --slots and --mapper-args: checked by the mapper's parser before
# the broker is asked or anything starts (the broker here does not exist).
UP=(provision up --backend local --broker tcp://127.0.0.1:1 --state-dir "$T/prov")
check prov-slots "^tally mapper: --slots .*'2000'" "$TALLY" "${UP[@]}" --slots 2000
check prov-margs "^tally mapper: --range-size .*'1'" "$TALLY" "${UP[@]}" --mapper-args "--range-size 1"
check prov-margs2 "^tally mapper: unrecognized option '--bogus'" "$TALLY" "${UP[@]}" --mapper-args "--bogus"
check prov-unknown "provision: unrecognized option '--bogus' \(see tally provision --help\)$" "$TALLY" "${UP[@]}" --bogus
check prov-count "provision: --count is 1 to [0-9]+, not '0'" "$TALLY" "${UP[@]}" --count 0
[ ! -e "$T/prov" ] || fail "provision made its state dir before refusing a flag"
pass "provision up: bad mapper flags (--slots, --mapper-args) and its own: one line, nothing started"

# A good run still runs (the flags a child takes reach it, parsed once): the counts are right.
"$TALLY" "${RUN[@]}" --mappers 2 --slots 1 --split-size 64K --range-size 64K --concurrency 2 --sort key \
    --format json > "$T/good.json" 2> "$T/good.log" || fail "a good run failed: $(cat "$T/good.log")"
check_truth "$T/good.json" "$T/data.truth.json" passenger_count || fail "a good run: wrong counts"
ls "$T"/data/*.csv | "$TALLY" run --input-from - --group-by passenger_count --format json > "$T/stdin.json" \
    2> "$T/stdin.log" || fail "--input-from - failed: $(cat "$T/stdin.log")"
check_truth "$T/stdin.json" "$T/data.truth.json" passenger_count || fail "--input-from -: wrong counts"
pass "good flags still reach the children (--input-from - read once, by run's parse of the broker's argv)"

# --- The children die with run. Every run below starts a session of its own (setsid), so what is
#     left of it is found by its session id, whatever else runs on this machine.
"$TALLY" gen --out "$T/wide" --files 2 --rows 20000 --seed 6 2> "$T/gen2.log"    # ~1 MB of table
session_left () {   # the live processes of session $1 (a zombie has ended: its parent reaps it)
    ps -o pid=,stat=,args= -s "$1" 2> /dev/null | awk '$2 !~ /^Z/' || true
}
ON_EXIT='for s in ${SESSIONS:-}; do pkill -9 -s "$s" 2>/dev/null || true; done'
SESSIONS=""

# `| head -1`: run's next write after head has gone fails (a broken pipe); run stops its children
# and exits 141, as a shell reports SIGPIPE. Before, run died of SIGPIPE and left its reducer.
t0=$(date +%s%N)
set +e
setsid -w sh -c 'echo $$ > "$0"; exec "$@"' "$T/head.sid" "$TALLY" run --input "$T/wide" --group-by 2 \
    2> "$T/head.log" | head -1 > "$T/head.out"
rc=${PIPESTATUS[0]}
set -e
t1=$(date +%s%N)
sid=$(cat "$T/head.sid"); SESSIONS="$SESSIONS $sid"
left=$(session_left "$sid")
[ -z "$left" ] || fail "after run | head -1, left in run's session $sid: $left"
grep -q "count" "$T/head.out" || fail "head saw no table: $(cat "$T/head.out")"
[ "$rc" -eq 141 ] || fail "run | head -1: exit $rc, want 141: $(tail -5 "$T/head.log")"
[ ! -s "$T/head.log" ] || fail "run | head -1 said something: $(head -c 1000 "$T/head.log")"
pass "run | head -1: exit 141, quietly, no process left in its session ($(( (t1 - t0) / 1000000 )) ms)"

# SIGKILL: nothing run does can stop its children; each asked for SIGTERM when its parent dies.
setsid sh -c 'echo $$ > "$0"; exec "$@"' "$T/kill.sid" "$TALLY" run --input "$T/wide" --group-by 2 \
    --rate-limit 100K --slots 1 > /dev/null 2> "$T/kill.log" &
PIDS+=("$!")
disown      # its SIGKILL below is the point: no "Killed" notice from this shell
i=0
until [ -s "$T/kill.sid" ] && [ "$(session_left "$(cat "$T/kill.sid")" | wc -l)" -ge 4 ]; do
    i=$((i + 1)); [ $i -gt 300 ] && fail "run did not start its 3 children: $(session_left "$(cat "$T/kill.sid")")"
    sleep 0.1
done
sid=$(cat "$T/kill.sid"); SESSIONS="$SESSIONS $sid"
# A SIGKILLed run cannot remove its private folder: this test does, once the session is empty.
# The folder is found by the ipc sockets the session's processes have bound (/proc/net/unix).
RUN_DIR=$(python3 - "$sid" <<'PY'
import os, re, sys
sid, inodes = int(sys.argv[1]), set()
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        if os.getsid(int(p)) == sid:
            for fd in os.listdir("/proc/%s/fd" % p):
                m = re.match(r"socket:\[(\d+)\]$", os.readlink("/proc/%s/fd/%s" % (p, fd)))
                if m:
                    inodes.add(m.group(1))
    except OSError:
        pass
for f in (line.split() for line in open("/proc/net/unix")):
    if len(f) >= 8 and f[6] in inodes and re.match(r"/tmp/tally-run-\w+/\w+$", f[7]):
        print(os.path.dirname(f[7]))
        break
PY
)
ON_EXIT="$ON_EXIT; [ -z '$RUN_DIR' ] || rm -rf '$RUN_DIR'"
kill -9 "$sid"
t0=$(date +%s%N)
i=0
while [ -n "$(session_left "$sid")" ]; do
    i=$((i + 1)); [ $i -gt 300 ] && fail "30 s after run was killed, left in its session: $(session_left "$sid")"
    sleep 0.1
done
t1=$(date +%s%N)
pass "run killed with SIGKILL: its children followed ($(( (t1 - t0) / 1000000 )) ms; left for us to remove: ${RUN_DIR:-no folder found})"
