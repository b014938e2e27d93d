#!/usr/bin/env python3
"""mangle_trunc.py STATE_DIR: cut reducer.log at a random offset past its magic (acknowledged
records go too), as a damaged disk or a careless operator might. Prints what it did."""
import os, random, sys
p = os.path.join(sys.argv[1], "reducer.log")
try:
    n = os.path.getsize(p)
except OSError:
    sys.exit(0)
if n > 16:
    cut = random.randint(16, n)
    os.truncate(p, cut)
    print(f"mangle: cut reducer.log from {n} to {cut} bytes")
