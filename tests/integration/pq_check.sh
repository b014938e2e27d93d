# shellcheck shell=bash
# Shared by the Parquet cross-checks (test_parquet_duckdb.sh, test_parquet_arrow.sh): the reader
# under test (pq_dump), the npm installs of the writers and of DuckDB, and the comparison of
# pq_dump's counts and sums with a manifest of expected ones (tests/tools/pq_duckdb.mjs says the
# format). Source it with SRC, T and fail () defined; not a test itself (ctest runs test_*.sh).

# pq_dump_find: sets PQ_DUMP. ctest passes TALLY_BUILD, whose pq_dump is the build under test
# (ASan+UBSan in scripts/test); else PQ_DUMP as given, else compiled here from the sources.
pq_dump_find () {
    if [ -z "${PQ_DUMP:-}" ] && [ -n "${TALLY_BUILD:-}" ] && [ -x "$TALLY_BUILD/tests/pq_dump" ]; then
        PQ_DUMP=$TALLY_BUILD/tests/pq_dump
    fi
    if [ -z "${PQ_DUMP:-}" ]; then
        PQ_DUMP=$T/pq_dump
        local PKGS="snappy zlib libzstd liblz4 libbrotlidec"
        # shellcheck disable=SC2046
        gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -D_GNU_SOURCE -I"$SRC" \
            $(pkg-config --cflags $PKGS) -o "$PQ_DUMP" "$SRC/tests/tools/pq_dump.c" \
            "$SRC"/lib/core/parquet/{thrift,meta,rle,encoding,page,column,value,stats}.c "$SRC/lib/base/err.c" \
            $(pkg-config --libs $PKGS) -lm || fail "could not build pq_dump"
    fi
    [ -x "$PQ_DUMP" ] || fail "PQ_DUMP=$PQ_DUMP is not executable"
}

# pq_npm SUBDIR PACKAGE[@VERSION]...: install the packages into $NPM/SUBDIR unless they are
# there already (at that exact version, when one is given). PQ_NPM_DIR names a reusable $NPM,
# which two tests may share at once (ctest -j): a lock file serialises their installs.
# If npm cannot install them the test fails: the cross-check never passes without its writers.
pq_npm () {
    local sub=$1 lock
    shift
    command -v node > /dev/null && command -v npm > /dev/null || fail "node and npm are needed (scripts/deps installs them)"
    mkdir -p "$NPM/$sub"
    exec {lock}> "$NPM/$sub.lock"
    flock "$lock"
    if ! s_npm_have "$sub" "$@"; then
        npm install --silent --no-audit --no-fund --prefix "$NPM/$sub" -E "$@" > "$T/npm-$sub.log" 2>&1 \
            || { cat "$T/npm-$sub.log" >&2; fail "could not install $* from npm: the cross-check cannot run"; }
    fi
    exec {lock}>&-
}

# s_npm_have SUBDIR PACKAGE[@VERSION]...: true when every package is installed (at that version)
s_npm_have () {
    local sub=$1 p name want have
    shift
    for p in "$@"; do
        if [[ $p == ?*@* ]]; then name=${p%@*} want=${p##*@}; else name=$p want=; fi
        have=$(node -p "require('$NPM/$sub/node_modules/$name/package.json').version" 2> /dev/null) || return 1
        [ -z "$want" ] || [ "$have" = "$want" ] || return 1
    done
}

# pq_version SUBDIR PACKAGE: the installed version, for the test's output.
pq_version () { node -p "require('$NPM/$1/node_modules/$2/package.json').version"; }

# check_manifest MANIFEST MODES: for every line, pq_dump's counts in each batch mode must equal
# the expected file, and a sum read row-aligned must equal the expected one (1e-9 relative).
# pq_dump reads all of a file's columns in one process per mode (and one for the sums of
# columns summed with themselves), so a sanitizer build's start-up is paid per file, not per
# column. Prints the number of file/column/mode checks.
check_manifest () {
    local manifest=$1 modes=$2 n=0 file col expect scol ssum scount cur=
    local -a cols=() exps=() sums=() ssums=() scounts=()
    while IFS=$'\t' read -r file col expect scol ssum scount; do
        if [ "$file" != "$cur" ] && [ -n "$cur" ]; then
            s_check_file "$cur"
            cols=() exps=() sums=() ssums=() scounts=()
        fi
        cur=$file
        cols+=("$col") exps+=("$expect") sums+=("${scol:-}") ssums+=("${ssum:-}") scounts+=("${scount:-}")
    done < "$manifest"
    [ -z "$cur" ] || s_check_file "$cur"
    echo "$n"
}

# s_check_file FILE: checks check_manifest's lines for one file (its arrays cols, exps, ...).
s_check_file () {
    local file=$1 mode i got out self=() idx=() gots=()
    for i in "${!cols[@]}"; do gots+=("$T/got/$((i + 1)).txt"); done
    for mode in $modes; do
        rm -rf "$T/got" && mkdir "$T/got"
        "$PQ_DUMP" --mode "$mode" --out "$T/got" "$file" "${cols[@]}" 2> "$T/err.txt" \
            || fail "pq_dump $file ($mode): $(cat "$T/err.txt")"
        # all columns at once (a header line starts each output and no value line can look
        # like one, so equal concatenations mean equal files); then find the one that differs
        if ! cat "${exps[@]}" | cmp -s - <(cat "${gots[@]}"); then
            for i in "${!cols[@]}"; do
                got=$T/got/$((i + 1)).txt
                cmp -s "${exps[$i]}" "$got" && continue
                diff -u "${exps[$i]}" "$got" | head -20 >&2
                fail "$(basename "$file") column ${cols[$i]} ($mode): counts differ"
            done
            fail "$(basename "$file") ($mode): the outputs differ, but no column does"
        fi
        n=$((n + ${#cols[@]}))
    done
    # sums: one awk checks them all (a line per column: got, expected, got n, expected n)
    local checks=
    for i in "${!cols[@]}"; do
        if [ "${sums[$i]}" = "${cols[$i]}" ]; then
            self+=("${cols[$i]}") idx+=("$i")
        elif [ -n "${sums[$i]}" ]; then
            out=$("$PQ_DUMP" --sum "${sums[$i]}" --quiet "$file" "${cols[$i]}") || fail "pq_dump --sum ${sums[$i]} $file ${cols[$i]} failed"
            s_sum_line "$i" "$out"
        fi
    done
    if [ ${#self[@]} -gt 0 ]; then
        rm -rf "$T/got" && mkdir "$T/got"
        "$PQ_DUMP" --self-sum --quiet --out "$T/got" "$file" "${self[@]}" 2> "$T/err.txt" \
            || fail "pq_dump --self-sum $file: $(cat "$T/err.txt")"
        for i in "${!self[@]}"; do
            IFS= read -r -d '' out < "$T/got/$((i + 1)).txt" || true
            s_sum_line "${idx[$i]}" "$out"
        done
    fi
    [ -n "$checks" ] || return 0
    out=$(awk '{ d = $2 - $3; if (d < 0) d = -d; m = $3 < 0 ? -$3 : $3
                 if ($4 != $5) { print "sum(" $1 "): " $4 " values, expected " $5; exit 1 }
                 if (d > 1e-9 * (m > 1 ? m : 1)) { print "sum(" $1 ") = " $2 ", expected " $3; exit 1 } }' <<< "$checks") \
        || fail "$(basename "$file") $out"
}

# s_sum_line INDEX PQ_DUMP_OUTPUT: adds "column got expected got_n expected_n" to checks
s_sum_line () {
    [[ $2 =~ \#\ sum=([^ ]*)\ n=([0-9]*) ]] || fail "no sum from pq_dump: $2"
    checks+="${sums[$1]} ${BASH_REMATCH[1]} ${ssums[$1]} ${BASH_REMATCH[2]} ${scounts[$1]}"$'\n'
}
