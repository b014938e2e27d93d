# Shared start of the bench scripts (source it from the repository's root): the tools they
# need, a Release build, and the bench file, page-cached. Sets RUNS, TALLY, W, F and SIZE.
#   . bench/lib.sh "${1:-5}"
bench/deps > /dev/null
RUNS=$1
TALLY=$PWD/build-rel/tally
[ -x "$TALLY" ] || { cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build-rel -j; }
W=${BENCH_DIR:-/tmp/tally-bench-scan}
mkdir -p "$W"
# One 2015-era TLC-like CSV, ~843 MB, with its ground truth beside it.
F="$W/data/yellow_tripdata_2015-01.csv"
[ -f "$F" ] || "$TALLY" gen --out "$W/data" --files 1 --rows 6600000 --eras 2015 --seed 1
cat "$F" > /dev/null   # page cache
SIZE=$(stat -c %s "$F")
