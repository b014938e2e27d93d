#!/usr/bin/env bash
# Exact or loud, local inputs that are not files (red team, session 14): a pipe has no size, so
# `tally scan --input <(zcat x.gz)` or `--input /dev/stdin` took it for an empty object and
# printed 0 rows, ok, exit 0 (tally run failed, saying the inputs were empty). Now a named
# path that is not a regular file or a folder fails, saying what to do; files are unchanged.
. "$(dirname "$0")/lib.sh"
printf 'k\n1\n2\n2\n' > "$T/in.csv"
rm -f "$T/p.fifo"; mkfifo "$T/p.fifo"
for cmd in "scan" "run -q"; do
    for how in pipe stdin fifo; do
        rc=0
        case $how in
            # shellcheck disable=SC2086
            pipe) "$TALLY" $cmd --input <(cat "$T/in.csv") --group-by k > "$T/o.txt" 2> "$T/o.log" || rc=$? ;;
            # shellcheck disable=SC2086
            stdin) "$TALLY" $cmd --input /dev/stdin --group-by k < <(cat "$T/in.csv") > "$T/o.txt" 2> "$T/o.log" || rc=$? ;;
            # shellcheck disable=SC2086
            fifo) timeout 30 "$TALLY" $cmd --input "$T/p.fifo" --group-by k > "$T/o.txt" 2> "$T/o.log" || rc=$? ;;
        esac
        [ "$rc" -ne 0 ] || fail "$cmd --input ($how): exit 0: $(tr '\n' ' ' < "$T/o.txt")"
        [ "$rc" -ne 124 ] || fail "$cmd --input ($how): hung"
        grep -q "is not a regular file" "$T/o.log" || fail "$cmd --input ($how): no cause given: $(tail -2 "$T/o.log")"
    done
    # shellcheck disable=SC2086
    "$TALLY" $cmd --input "$T/in.csv" --group-by k --format csv > "$T/o.csv" 2> "$T/o.log" || fail "$cmd of a file failed"
    [ "$(tail -n +2 "$T/o.csv" | tr '\n' ' ')" = "2,2 1,1 " ] || fail "$cmd of a file: $(cat "$T/o.csv")"
done
# In a folder, a FIFO is left out and said so (it was left out in silence): the files count.
mkdir -p "$T/dir"
cp "$T/in.csv" "$T/dir/a.csv"
mkfifo "$T/dir/b.fifo"
for cmd in "scan" "run"; do
    # shellcheck disable=SC2086
    timeout 60 "$TALLY" $cmd --input "$T/dir" --group-by k --format csv > "$T/d.csv" 2> "$T/d.log" ||
        fail "$cmd of a folder with a FIFO failed: $(tail -2 "$T/d.log")"
    [ "$(tail -n +2 "$T/d.csv" | tr '\n' ' ')" = "2,2 1,1 " ] || fail "$cmd of a folder with a FIFO: $(cat "$T/d.csv")"
    grep -q "left out 1 item(s) of the input folders that are not regular files" "$T/d.log" ||
        fail "$cmd: the FIFO in the folder was left out without a word"
done
pass "a pipe, /dev/stdin or a FIFO named as an input fails with its cause; a file counts; a FIFO in a folder is left out, said"
