#!/usr/bin/env python3
"""Turn cli/web_page.html into cli/web_page.c: the dashboard page as one C string.

usage: python3 cli/web_page.py [--check]
--check exits 1 if cli/web_page.c is not what this script makes (tests/integration/test_web.sh)."""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
html = open(os.path.join(here, "web_page.html"), "rb").read()


def c_line(b):
    out = []
    for ch in b:
        c = chr(ch)
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "?":
            out.append("\\?")          # no trigraphs
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append("\\%03o" % ch)
    return "".join(out)


lines = html.split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
body = "\n".join('    "%s\\n"' % c_line(l) for l in lines)
text = (
    "/*  web_page.c — the dashboard page, generated from cli/web_page.html by cli/web_page.py:\n"
    "    edit the HTML and run the script. Compiled in, so the binary serves it with no file. */\n"
    "#include <stddef.h>\n\n"
    "const char tl_web_page [] =\n" + body + ";\n"
    "const size_t tl_web_page_len = sizeof tl_web_page - 1;\n"
)
out = os.path.join(here, "web_page.c")
if "--check" in sys.argv:
    cur = open(out).read() if os.path.exists(out) else ""
    if cur != text:
        print("cli/web_page.c is not made from cli/web_page.html: run python3 cli/web_page.py", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
open(out, "w").write(text)
