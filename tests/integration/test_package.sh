#!/usr/bin/env bash
# Packaging: CPack builds a .deb; it is unpacked into a scratch root (dpkg -x) and the tally in it
# runs a job with exact totals. The man page renders, the bash completion completes, the systemd
# unit is in place (and verified by systemd-analyze where systemd exists).
. "$(dirname "$0")/lib.sh"
: "${TALLY_BUILD:?TALLY_BUILD must point at the build folder}"

cpack -G DEB --config "$TALLY_BUILD/CPackConfig.cmake" -B "$T/pkg" > "$T/cpack.log" 2>&1 || fail "cpack: $(tail -3 "$T/cpack.log")"
deb=$(ls "$T"/pkg/tally_*.deb)
dpkg-deb -I "$deb" > "$T/info.log"
grep -q '^ Depends:.*libczmq4' "$T/info.log" || fail "the .deb does not depend on libczmq4"
mkdir "$T/root"
dpkg -x "$deb" "$T/root"
for f in usr/bin/tally usr/share/man/man1/tally.1 usr/share/bash-completion/completions/tally \
         usr/lib/systemd/system/tally-mapper.service; do
    [ -f "$T/root/$f" ] || fail "$f is not in the .deb"
done
pass "the .deb holds the binary, man page, completion and systemd unit"

X="$T/root/usr/bin/tally"
"$X" --version | grep -q '^tally ' || fail "--version from the .deb"
"$X" help run | grep -q -- '--group-by' || fail "tally help run"
"$X" gen --out "$T/data" --files 3 --rows 3000 --seed 9 2> "$T/gen.log"
"$X" run --input "$T/data" --group-by passenger_count --format json > "$T/out.json" 2> "$T/run.log"
check_truth "$T/out.json" "$T/data.truth.json" passenger_count || fail "the packaged tally miscounts"
pass "the packaged tally runs a job: exact"

MANWIDTH=80 man -l "$T/root/usr/share/man/man1/tally.1" > "$T/man.txt" 2>/dev/null \
    || groff -man -Tutf8 "$T/root/usr/share/man/man1/tally.1" > "$T/man.txt"
grep -q 'SYNOPSIS' "$T/man.txt" && grep -q 'provision' "$T/man.txt" || fail "man page does not render"
pass "man page renders"

# Completion: source it and ask for the completions of "tally pro" and "tally run --gro".
out=$(PATH="$T/root/usr/bin:$PATH" bash -c '
    . "$1"
    COMP_WORDS=(tally pro); COMP_CWORD=1; _tally; echo "${COMPREPLY[*]}"
    COMP_WORDS=(tally run --gro); COMP_CWORD=2; _tally; echo "${COMPREPLY[*]}"' _ \
    "$T/root/usr/share/bash-completion/completions/tally")
[ "$(echo "$out" | sed -n 1p)" = provision ] || fail "completion of 'tally pro': $out"
[ "$(echo "$out" | sed -n 2p)" = --group-by ] || fail "completion of 'tally run --gro': $out"
pass "bash completion"

unit="$T/root/usr/lib/systemd/system/tally-mapper.service"
grep -q '^ExecStart=.*/usr/bin/tally mapper --broker' "$unit" || fail "unit ExecStart"
if command -v systemd-analyze > /dev/null; then
    systemd-analyze verify --man=no "$unit" > "$T/verify.log" 2>&1 || fail "systemd-analyze: $(cat "$T/verify.log")"
    pass "systemd unit verified"
else
    pass "systemd unit present (no systemd-analyze here)"
fi
