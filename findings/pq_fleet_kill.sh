#!/bin/bash
# Parquet job in a fleet (reducer, broker, 2 mappers; --state-dir on both), split 200K (backups
# of Parquet tasks), then kill -9: a mapper mid row group, the reducer (restarted from its
# checkpoint), the broker (restarted from its journal). Final totals vs tally scan.
T=${T:-/work/rt12/build-rel/tally}; W=/tmp/rt12/fleet; rm -rf $W; mkdir -p $W
D=${D:-/tmp/rt12/pqk}
RP=27711; PP=27712; BP=27713
Q=(--group-by passenger_count --agg sum:trip_distance --agg max:fare_amount)
$T scan --input $D/ "${Q[@]}" --format csv > $W/expect.csv
red () { $T reducer --listen tcp://127.0.0.1:$RP --publish tcp://127.0.0.1:$PP --state-dir $W/rstate >> $W/reducer.log 2>&1 & echo $!; }
bro () { $T broker --listen tcp://127.0.0.1:$BP --reducer tcp://127.0.0.1:$RP --input $D/ "${Q[@]}" --split-size 200K --state-dir $W/bstate -q >> $W/broker.log 2>&1 & echo $!; }
map () { $T mapper --broker tcp://127.0.0.1:$BP --slots 2 --name m$1 --rate-limit 40K >> $W/mapper$1.log 2>&1 & echo $!; }
R=$(red); B=$(bro); M1=$(map 1); M2=$(map 2)
sleep 2; kill -9 $M1; echo "killed mapper 1"; M3=$(map 3)
sleep 2; kill -9 $R; echo "killed reducer"; sleep 0.5; R=$(red)
sleep 2; kill -9 $B; echo "killed broker"; sleep 0.5; B=$(bro)
$T watch --subscribe tcp://127.0.0.1:$PP --until-done --format csv --timeout 240 > $W/final.csv 2> $W/watch.err; echo "watch rc=$?"
wait $B; echo "broker rc=$?"
kill $R $M2 $M3 2>/dev/null; wait 2>/dev/null
diff $W/final.csv $W/expect.csv && echo "FINAL == scan" || { echo "DIFFER"; cat $W/watch.err; }
