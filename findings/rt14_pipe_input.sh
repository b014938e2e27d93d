#!/usr/bin/env bash
# rt14 F4: a pipe named as an input (process substitution, /dev/stdin) was taken for an empty
# object: tally scan printed 0 rows, ok, exit 0, for 30,000 rows piped in (tally run failed,
# but said "the inputs are empty or match nothing"). Fixed: the input fails, saying why.
# usage: TALLY=build-rel/tally bash findings/rt14_pipe_input.sh
: "${TALLY:?TALLY must point at the tally binary}"
gen () { python3 -c "print('v'); [print('pq'[i % 2]) for i in range(30000)]"; }
"$TALLY" scan --input <(gen) --group-by v --format json | cut -c1-160; echo "exit ${PIPESTATUS[0]}"
gen | "$TALLY" scan --input /dev/stdin --group-by v --format json | cut -c1-160; echo "exit ${PIPESTATUS[1]}"
