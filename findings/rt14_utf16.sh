#!/usr/bin/env bash
# rt14 F3: a UTF-16 CSV (as Excel's "Unicode text" writes) was read as bytes. By name, the
# column was "not found in header '??a'"; by number, it counted keys "\0x\0" and "\0y\0" and a
# bad row, ok (Python, reading it as UTF-16: x 500, y 500). Fixed: the object fails, naming the
# byte order mark. usage: TALLY=build-rel/tally bash findings/rt14_utf16.sh
: "${TALLY:?TALLY must point at the tally binary}"
D=$(mktemp -d /tmp/rt14-u16.XXXXXX)
python3 -c "
s = 'a,b\n' + ''.join('%d,%s\n' % (i, 'xy'[i % 2]) for i in range(1000))
open('$D/u16.csv', 'wb').write(s.encode('utf-16'))"
"$TALLY" scan --input "$D/u16.csv" --group-by 2 --format json; echo "exit $?"
rm -rf "$D"
