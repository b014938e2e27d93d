#!/usr/bin/env python3
"""An independent reference for tally's queries (docs: lib/core/query.h), written from the spec
with Python's csv module, to check tally's --group-by / --agg / --where / --column-alias output.

usage: ref_query.py TALLY_JSON DATA_DIR [--group-by G]... [--agg A]... [--where W]... [--column-alias A]...
                   [--also TALLY_JSON]...

Compares keys and counts exactly, min/max exactly, sums and averages to a relative 1e-9, and the
bad rows, filtered rows and non-number counts. Exits 1 with the first differences on a mismatch.
--also compares more results of the same query with the same reference, each on its own line
named by its file (several watchers of one job: the data is read once, not once per watcher).
"""
import csv, json, math, os, re, sys

# The same field under the TLC eras' names (specification data, not tally's code).
TLC = [
    ["tpep_pickup_datetime", "pickup_datetime", "Trip_Pickup_DateTime", "lpep_pickup_datetime"],
    ["tpep_dropoff_datetime", "dropoff_datetime", "Trip_Dropoff_DateTime", "lpep_dropoff_datetime"],
    ["VendorID", "vendor_id", "vendor_name"], ["RatecodeID", "rate_code"],
    ["store_and_fwd_flag", "store_and_forward"], ["pickup_longitude", "Start_Lon"],
    ["pickup_latitude", "Start_Lat"], ["dropoff_longitude", "End_Lon"], ["dropoff_latitude", "End_Lat"],
    ["fare_amount", "Fare_Amt"], ["extra", "surcharge"], ["tip_amount", "Tip_Amt"],
    ["tolls_amount", "Tolls_Amt"], ["total_amount", "Total_Amt"],
]
NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def number(s):
    s = s.strip(" \t")
    return float(s) if NUM.match(s) else None


def colspec(s):
    m = re.match(r"^\s*(.*?)\s*(\[(\d*):(\d*)\])?\s*$", s)
    name, a, b = m.group(1), m.group(3), m.group(4)
    lo = int(a) if a else 0
    hi = int(b) if b else None
    return (int(name) if name.isdigit() else name, lo, hi)


def label(c):
    n, lo, hi = c
    base = "#%d" % n if isinstance(n, int) else n
    if lo == 0 and hi is None:
        return base
    return "%s[%d:%s]" % (base, lo, "" if hi is None else hi)


def main():
    out, data, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    by, aggs, wheres, aliases, outs = [], [], [], [], [out]
    for flag, val in zip(rest[::2], rest[1::2]):
        if flag == "--also":
            outs.append(val)
        elif flag == "--group-by":
            by += [colspec(p) for p in val.split(",")]
        elif flag == "--agg":
            k, _, c = val.partition(":")
            aggs.append((k, colspec(c) if c else None))
        elif flag == "--where":
            m = re.match(r"^(.*?)(!=|<=|>=|==|=|<|>)(.*)$", val)
            lit = m.group(3).strip()
            if len(lit) >= 2 and lit[0] in "'\"" and lit[-1] == lit[0]:
                lit = lit[1:-1]
            wheres.append((colspec(m.group(1)), m.group(2), lit))
        elif flag == "--column-alias":
            n, _, alts = val.partition("=")
            aliases.append([n.strip()] + [a.strip() for a in alts.split("|")])
    extra = [(k, c) for k, c in aggs if k != "count"]

    def find(header, name):
        names = [h.strip(" \t").lower() for h in header]
        cands = [name]
        for group in aliases + TLC:
            if name.lower() in [g.lower() for g in group]:
                cands += group
        for c in cands:
            if c.lower() in names:
                return names.index(c.lower())
        raise SystemExit("ref: column %s not in %s" % (name, header))

    groups, bad_rows, filtered, rows = {}, 0, 0, 0
    files = sorted(os.path.join(data, f) for f in os.listdir(data) if not f.startswith("."))
    for path in files:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            lines = [l for l in csv.reader(fh)]
        lines = [l for l in lines if l != [] and l != [""]]   # blank lines are not rows
        header, body = lines[0], lines[1:]
        idx = lambda c: c[0] - 1 if isinstance(c[0], int) else find(header, c[0])
        bi = [idx(c) for c in by]
        ai = [idx(c) if c else None for _, c in extra]
        wi = [idx(c) for c, _, _ in wheres]
        need = max(bi + [i for i in ai if i is not None] + wi)
        for r in body:
            if len(r) <= need:
                bad_rows += 1
                continue
            val = lambda i, c: (r[i].strip(" \t") if not r[i].startswith('"') else r[i])[c[1]:c[2]]
            keep = True
            for (c, op, lit), i in zip(wheres, wi):
                v = val(i, c)
                ln, vn = number(lit), number(v)
                if ln is not None and vn is not None:
                    a, b = vn, ln
                elif ln is not None and op not in ("=", "==", "!="):
                    keep = False
                    break
                else:
                    a, b = v.encode(), lit.encode()
                ok = {"=": a == b, "==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
                if not ok:
                    keep = False
                    break
            if not keep:
                filtered += 1
                continue
            rows += 1
            key = tuple(val(i, c) for i, c in zip(bi, by))
            g = groups.setdefault(key, [0] + [[0, 0, [], math.inf, -math.inf] for _ in extra])
            g[0] += 1
            for k, ((kind, c), i) in enumerate(zip(extra, ai)):
                x = number(val(i, c))
                cell = g[k + 1]
                if x is None:
                    cell[1] += 1
                else:
                    cell[0] += 1
                    cell[2].append(x)
                    cell[3] = min(cell[3], x)
                    cell[4] = max(cell[4], x)

    failed = False
    for o in outs:
        errs = s_compare(o, groups, rows, filtered, bad_rows, extra)
        name = "" if len(outs) == 1 else os.path.basename(o) + ": "
        if errs:
            print("%sref_query: MISMATCH (%d): %s" % (name, len(errs), "; ".join(errs[:8])))
            failed = True
        else:
            print("%sref_query: MATCH: %d groups, %d rows, %d filtered, %d bad rows, bad values %s" %
                  (name, len(groups), rows, filtered, bad_rows, errs.bad_values))
    if failed:
        sys.exit(1)


class Errs(list):
    """the differences found, and the reference's non-number counts (for the MATCH line)"""
    bad_values = None


def s_compare(out, groups, rows, filtered, bad_rows, extra):
    t = json.load(open(out))
    errs = Errs()
    if t["bad_rows"] != bad_rows:
        errs.append("bad_rows: tally %s, ref %s" % (t["bad_rows"], bad_rows))
    if t.get("filtered_rows", 0) != filtered:
        errs.append("filtered: tally %s, ref %s" % (t.get("filtered_rows"), filtered))
    if t["rows"] != rows:
        errs.append("rows: tally %s, ref %s" % (t["rows"], rows))
    tg = {}
    for g in t["groups"]:
        tg[tuple(g["keys"]) if "keys" in g else (g["key"],)] = g
    if set(tg) != set(groups):
        errs.append("groups differ: only tally %s; only ref %s" %
                    (sorted(set(tg) - set(groups))[:5], sorted(set(groups) - set(tg))[:5]))
    labels = ["%s(%s)" % (k, label(c)) for k, c in extra]
    bad_values = {l: 0 for l in labels}
    for key, g in groups.items():
        if key not in tg:
            continue
        x = tg[key]
        if x["count"] != g[0]:
            errs.append("%s: count tally %s, ref %s" % (key, x["count"], g[0]))
        for k, ((kind, c), l) in enumerate(zip(extra, labels)):
            n, bad, vals, lo, hi = g[k + 1]
            bad_values[l] += bad
            want = {"sum": math.fsum(vals), "min": lo if n else None, "max": hi if n else None,
                    "avg": math.fsum(vals) / n if n else None}[kind]
            got = x["values"][l]
            if want is None or got is None:
                ok = want is None and got is None
            else:
                ok = math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
            if not ok:
                errs.append("%s: %s tally %s, ref %s" % (key, l, got, want))
    for l in labels:
        if t["bad_values"].get(l) != bad_values[l]:
            errs.append("bad values of %s: tally %s, ref %s" % (l, t["bad_values"].get(l), bad_values[l]))
    errs.bad_values = bad_values
    return errs


main()
