#!/usr/bin/env python3
"""Every C example in docs/sdk.md is compiled somewhere, or the check fails.

Each ```c block must follow (on the line just before it) one of:
  <!-- compiled: file -->        a whole file: compiled as it is
  <!-- compiled: fragment -->    statements of a workflow: compiled as the
                                 body of a workflow function (ctx, input, output)
  <!-- code from PATH ... -->    lines of PATH (a file the tests build and
                                 run), each as it is there; "..." stands for
                                 lines left out
Blocks are compiled against include/durable.h, include/durable_test.h and
tests/docs_prelude.h (the options and names the fragments refer to), with
-Werror. Usage: docs_check.py SDK_MD CC [CFLAGS...]"""
import os
import re
import subprocess
import sys
import tempfile

doc, cc, cflags = sys.argv[1], sys.argv[2], sys.argv[3:]
here = os.path.dirname(os.path.abspath(__file__))
top = os.path.normpath(os.path.join(here, "..", ".."))
lines = open(doc).read().split("\n")
failures = []
checked = 0


def block_at(i):
    body = []
    i += 1
    while lines[i] != "```":
        body.append(lines[i])
        i += 1
    return body


def compile_unit(name, text):
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
        f.write(text)
    try:
        r = subprocess.run([cc] + cflags + ["-fsyntax-only", "-x", "c", f.name], capture_output=True, text=True)
        if r.returncode != 0:
            failures.append("%s does not compile:\n%s" % (name, r.stderr.replace(f.name, name)))
    finally:
        os.unlink(f.name)


def from_file(name, body, path):
    try:
        source = [l.strip() for l in open(os.path.join(top, path)).read().split("\n")]
    except OSError as e:
        failures.append("%s: cannot read %s: %s" % (name, path, e))
        return
    for l in body:
        l = l.strip()
        if l and l != "..." and l not in source:
            failures.append("%s: this line is not in %s: %s" % (name, path, l))
            return


PRELUDE = '#include "docs_prelude.h"\n'
for i, line in enumerate(lines):
    if line != "```c":
        continue
    checked += 1
    name = "%s:%d" % (os.path.basename(doc), i + 1)
    body = block_at(i)
    mark = lines[i - 1].strip() if i > 0 else ""
    m = re.match(r"<!-- code from (\S+)", mark)
    if m:
        from_file(name, body, m.group(1))
    elif mark == "<!-- compiled: file -->":
        compile_unit(name, PRELUDE + "#line %d\n" % (i + 2) + "\n".join(body) + "\n")
    elif mark == "<!-- compiled: fragment -->":
        compile_unit(name, PRELUDE + "static int docs_fragment(durable_ctx_t *ctx, json_t *input, json_t **output)\n{\n"
                     + "#line %d\n" % (i + 2) + "\n".join(body) + "\n\treturn 0;\n}\n")
    else:
        failures.append("%s: a C example that nothing compiles (mark it <!-- compiled: file -->, "
                        "<!-- compiled: fragment --> or <!-- code from PATH -->)" % name)

for f in failures:
    print("FAIL " + f)
print("docs_check: %d C examples in %s, %d failed" % (checked, os.path.basename(doc), len(failures)))
sys.exit(1 if failures or checked == 0 else 0)
