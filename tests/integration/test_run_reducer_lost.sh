#!/usr/bin/env bash
# tally run whose reducer dies mid-job (kill -9, an OOM kill) ends at once, loud: exit 1 and a
# line that names the reducer and its signal. It used to go on: the broker learns of a missing
# reducer only when a task has finished 8 times unapplied (60 s each), so the job hung ~8 min
# and then blamed the partials ("one the reducer cannot take; see the reducer's log").
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/gen" --files 2 --rows 20000 --seed 5 2> "$T/gen.log"
# slow reads, so the job is still running when the reducer goes
"$TALLY" run --input "$T/gen/" --group-by passenger_count --format csv --mappers 2 --slots 1 \
    --split-size 256K --rate-limit 64K -q > "$T/out.csv" 2> "$T/run.log" &
RP=$!
PIDS+=("$RP")
kids=""
for _ in $(seq 1 100); do
    kids=$( (ps -o pid= --ppid "$RP" || true) | sort -n | tr -d ' ' | tr '\n' ' ')
    [ "$(echo $kids | wc -w)" -ge 4 ] && break
    sleep 0.05
done
[ "$(echo $kids | wc -w)" -ge 4 ] || fail "run did not start its 4 children: '$kids'"
sleep 0.5
# The reducer: the child listening on run's ipc .../reducer socket. (Not the lowest pid: pids wrap,
# pid_max may be 32768; not the command line either: the children are forks of run.)
R=""
for _ in $(seq 1 100); do
    for k in $kids; do
        ss -xlp 2>/dev/null | grep -q "tally-run-[^ ]*/reducer .*pid=$k," && R=$k
    done
    [ -n "$R" ] && break
    sleep 0.05
done
[ -n "$R" ] || fail "no reducer among run's children: '$kids'"
echo "children: $kids; killing $R" >&2
kill -9 "$R"
start=$(date +%s)
rc=0
timeout 60 tail --pid="$RP" -f /dev/null || fail "tally run still running 60 s after its reducer was killed"
wait "$RP" || rc=$?
[ "$rc" = 1 ] || fail "tally run exit $rc after its reducer was killed, want 1: $(cat "$T/run.log")"
grep -q "the reducer (pid $R) was killed by signal 9" "$T/run.log" \
    || fail "no line naming the killed reducer: $(cat "$T/run.log")"
[ ! -s "$T/out.csv" ] || fail "a result was printed without a reducer: $(head -3 "$T/out.csv")"
for k in $kids; do
    for _ in $(seq 1 100); do kill -0 "$k" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$k" 2>/dev/null && fail "child $k of run still alive after run exited"
done
pass "run fails at once, naming the reducer, when its reducer is killed ($(( $(date +%s) - start )) s)"
