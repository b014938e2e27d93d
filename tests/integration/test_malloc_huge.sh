#!/usr/bin/env bash
# malloc's memory on transparent huge pages (cli/main.c, s_malloc_huge_pages): a plain build
# (the sanitizer builds never re-execute) runs itself again once with glibc.malloc.hugetlb=1
# added to GLIBC_TUNABLES, keeping its pid and a tunable the user set; not with
# TALLY_NO_HUGEPAGES=1. And a whole job through the re-executed processes is exact.
. "$(dirname "$0")/lib.sh"
PLAIN=${TALLY_PLAIN:-}
if [ -z "$PLAIN" ]; then
    cmake -S "$TALLY_SRC" -B "$TALLY_SRC/build-plain" -DCMAKE_BUILD_TYPE=Debug -DTALLY_TESTS=OFF > "$T/cmake.log" 2>&1
    cmake --build "$TALLY_SRC/build-plain" -j2 > "$T/build.log" 2>&1 || fail "plain build failed"
    PLAIN="$TALLY_SRC/build-plain/tally"
fi
command -v strace > /dev/null || fail "strace is not installed"
"$PLAIN" gen --out "$T/data" --files 2 --rows 3000 --seed 7 2> "$T/gen.log"

# execs [VAR=VALUE...]: the GLIBC_TUNABLES of each execve of a scan started so, a line each
# ("-" for none). (/proc/PID/environ cannot tell: glibc cuts the string there at its first ':'.)
execs () {
    env "$@" strace -f -qq -v -s 1000 -e trace=execve -o "$T/strace.log" \
        "$PLAIN" scan --input "$T/data" --group-by passenger_count --format json > "$T/scan.json" 2> "$T/scan.log" ||
        fail "scan ($*) exited $?"
    check_truth "$T/scan.json" "$T/data.truth.json" passenger_count > /dev/null || fail "scan ($*): totals"
    grep 'execve(' "$T/strace.log" | grep -v ENOENT | while read -r line; do
        t=$(echo "$line" | grep -o '"GLIBC_TUNABLES=[^"]*"' | sed 's/^"GLIBC_TUNABLES=//; s/"$//')
        echo "${t:--}"
    done | paste -sd' '
}
got=$(execs -u GLIBC_TUNABLES)
[ "$got" = "- glibc.malloc.hugetlb=1" ] || fail "default: the execs' GLIBC_TUNABLES were '$got'"
got=$(execs GLIBC_TUNABLES=glibc.malloc.tcache_count=5)
[ "$got" = "glibc.malloc.tcache_count=5 glibc.malloc.tcache_count=5:glibc.malloc.hugetlb=1" ] ||
    fail "the user's tunable: the execs' GLIBC_TUNABLES were '$got'"
got=$(execs GLIBC_TUNABLES=glibc.malloc.hugetlb=0)
[ "$got" = "glibc.malloc.hugetlb=0" ] || fail "a hugetlb the user set: the execs' GLIBC_TUNABLES were '$got'"
grep 'execve(' "$T/strace.log" | grep -v ENOENT | tail -1 | grep -q "execve(\"$(readlink -f "$PLAIN")\"" ||
    fail "the second exec is not of the binary's own path: $(grep 'execve(' "$T/strace.log" | cut -c1-200)"
got=$(execs -u GLIBC_TUNABLES TALLY_NO_HUGEPAGES=1)
[ "$got" = "-" ] || fail "TALLY_NO_HUGEPAGES=1: the execs' GLIBC_TUNABLES were '$got'"

env -u GLIBC_TUNABLES "$PLAIN" run --input "$T/data" --group-by passenger_count --mappers 2 --slots 2 \
    --split-size 64K --format json > "$T/out.json" 2> "$T/run.log" || fail "run exited $?"
check_truth "$T/out.json" "$T/data.truth.json" passenger_count || fail "totals after the re-exec"

# The re-executed process keeps its name (an exec of /proc/self/exe would call it "exe", and
# pgrep, killall and ps would not find it).
ep="ipc://$T/named"
env -u GLIBC_TUNABLES "$PLAIN" reducer --listen "$ep" --publish "$ep.pub" 2> "$T/named.log" &
pid=$!
PIDS+=("$pid")
for _ in $(seq 100); do [ -S "$T/named.pub" ] && break; sleep 0.05; done
[ -S "$T/named.pub" ] || fail "the reducer did not start"
name=$(cat "/proc/$pid/comm")
[ "$name" = "$(basename "$PLAIN")" ] || fail "the re-executed reducer is called '$name'"
kill "$pid"
pass "re-executed with glibc.malloc.hugetlb=1 (user's tunables kept, off with TALLY_NO_HUGEPAGES=1; name kept); run exact"
