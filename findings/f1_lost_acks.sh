#!/usr/bin/env bash
# rt13 F1: a reducer restarted on a state dir whose log lost records (here: cut 7 bytes short,
# which drops the whole last task unit as "a write the reducer died in, never acknowledged"; or
# the log removed). Old code: the job runs to its end, then fails "incomplete: 1 of 75 task(s)
# were never applied (task 15)". Fixed (ea77b4b): the broker says at once that the reducer
# restarted without tasks it had acknowledged, and the last line says so. Needs DATA + TRUTH:
#   tally gen --out /tmp/rt13/d1 --files 3 --rows 100000 --eras 2009,2012,2015 --seed 7
#   python3 findings/truth_by.py /tmp/rt13/d1 /tmp/rt13/d1.pick.json
# usage: TALLY=... TALLY_SRC=... f1_lost_acks.sh DATA TRUTH [cut-log-last|drop-log]
exec bash "$(dirname "$0")/a2_mangle_once.sh" "$1" "$2" "${3:-cut-log-last}"
