// Canonical text of values, as lib/core/parquet/value.c prints them, for the cross-checks:
// integral doubles below 2^63 as integers, other floats in the shortest form that reads back
// (C's %.{p}g layout), nan/inf/-inf; everything else arrives as text already.
export function cg(x, p) {          // C's "%.{p}g"
  const [mant, ex] = x.toExponential(p - 1).split('e');
  const X = parseInt(ex, 10);
  const trim = (s) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (X < -4 || X >= p)
    return trim(mant) + 'e' + (X < 0 ? '-' : '+') + String(Math.abs(X)).padStart(2, '0');
  return trim(x.toFixed(Math.max(0, p - 1 - X)));
}

export function canonFloat(x, single) {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return '0';
  if (Number.isInteger(x) && Math.abs(x) < 9223372036854775808) return BigInt(x).toString();
  for (let p = 1; p <= 17; p++) {
    const s = cg(x, p);
    const back = Number(s);
    if (single ? Math.fround(back) === x : back === x) return s;
  }
  return String(x);
}

export function escape(s) {
  let o = s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  if (o.startsWith('#')) o = '\\' + o;
  return o;
}

// counts: Map text → count. Returns pq_dump's output lines (sorted by UTF-8 bytes).
export function render(rows, counts) {
  const keys = [...counts.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let out = `# rows=${rows} meta_rows=${rows}\n`;
  for (const k of keys) out += `${escape(k)}\t${counts.get(k)}\n`;
  return out;
}
