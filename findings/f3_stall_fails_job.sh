#!/usr/bin/env bash
# rt13 F3: the reducer's checkpoint stalls (full disk) and acks wait; the broker counts each wait
# as an apply timeout and after 2 x --max-attempts of them fails the tasks "finished N times by
# mappers but never applied by the reducer ... its partial is one the reducer cannot take", then
# the job (broker exit 1), though it knew the reducer was stalled. With the defaults that is
# ~8 minutes of full disk; here --apply-timeout-ms 2000 --max-attempts 1 makes it ~6 s.
# Fixed (2f9623c): finished tasks wait while the reducer says it is stalled. Needs root (mount).
# usage: TALLY=... TALLY_SRC=... f3_stall_fails_job.sh DATA TRUTH
RATE=20M KILLS=0 WAIT=30 GROW=1 BEXTRA="--apply-timeout-ms 2000 --max-attempts 1" \
    exec bash "$(dirname "$0")/a2_tmpfs_full.sh" "$1" "$2" 2M 4096
