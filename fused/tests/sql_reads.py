#!/usr/bin/env python3
"""sql.c against the daemon's code, without a store: every column the code
reads by a literal name (db_col, db_null, db_len, db_true) is one that a call
the same function sends names in sql.c; every call sql.c defines is in its
sql_calls table and sent somewhere; and no SQL text or read by column
position is left outside sql.c and db.c. TAP on stdout; exits 1 on a failure.

    sql_reads.py [SRC_DIR]      (default: ../src next to this file)
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
failures = 0


def check(good, what):
    global failures
    print(("ok - " if good else "not ok - ") + what)
    failures += not good


def read(name):
    with open(os.path.join(src, name)) as f:
        return f.read()


def strip_comments(text):
    """Comments out, strings and line numbers kept (so a name in a comment is no read)."""
    return re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


# The calls sql.c defines: name -> the columns it names (None: its answer is not read).
contract = strip_comments(read("sql.c"))
calls = {}
for m in re.finditer(r"const struct sql_call (sql_\w+) = \{(.*?)\};", contract, re.S):
    cols = re.search(r"COLUMNS\(([^)]*)\)", m.group(2))
    calls[m.group(1)] = re.findall(r'"(\w+)"', cols.group(1)) if cols else None
check(len(calls) > 50, "sql.c defines the daemon's calls (%d)" % len(calls))
table = re.search(r"sql_calls\[\] = \{(.*?)\};", contract, re.S)
listed = set(re.findall(r"&(sql_\w+)", table.group(1))) if table else set()
for name in sorted(set(calls) - listed):
    check(False, "%s is in the sql_calls table (the contract test describes only those)" % name)
for name in sorted(listed - set(calls)):
    check(False, "the sql_calls table lists %s, which sql.c does not define" % name)
header = read("sql.h")
for name in sorted(calls):
    if not re.search(r"\b%s\b" % name, header):
        check(False, "sql.h declares %s" % name)

READ = re.compile(r'\bdb_(?:col|null|len|true)\((?:[^()"]|\([^()]*\))*?"(\w+)"\s*\)')
CALL = re.compile(r"\b(sql_\w+)\b")
SQL_TEXT = re.compile(r'"\s*(SELECT|WITH|INSERT|UPDATE|DELETE|UNLISTEN|BEGIN|COMMIT|ROLLBACK)\b')
POSITIONAL = re.compile(r"\bPQ(getvalue|getisnull|getlength|fnumber)\s*\(")

used = set()
reads = 0
for name in sorted(os.listdir(src)):
    if not name.endswith(".c") or name == "sql.c":
        continue
    text = strip_comments(read(name))
    lines = text.split("\n")
    file_calls = {c for c in CALL.findall(text) if c in calls}
    used |= file_calls
    if name != "db.c":
        for i, line in enumerate(lines, 1):
            if POSITIONAL.search(line):
                check(False, "%s:%d reads an answer by position, not through db_col: %s" % (name, i, line.strip()))
            if SQL_TEXT.search(line):
                check(False, "%s:%d has SQL of its own; it belongs in sql.c: %s" % (name, i, line.strip()))
    # functions: a body runs from a "{" line to a "}" line, both at column 0
    start = None
    for i, line in enumerate(lines):
        if line == "{":
            start = i
        elif line == "}" and start is not None:
            body = "\n".join(lines[start:i])
            fn_calls = {c for c in CALL.findall(body) if c in calls} or file_calls
            known = set()
            for c in fn_calls:
                known |= set(calls[c] or [])
            for m in READ.finditer(body):
                reads += 1
                line_no = start + 1 + body[:m.start()].count("\n")
                check(m.group(1) in known,
                      "%s:%d reads column \"%s\" of %s" % (name, line_no, m.group(1),
                                                         " or ".join(sorted(fn_calls)) or "no call"))
            start = None
check(reads > 40, "the code reads columns by name (%d reads checked)" % reads)
for name in sorted(set(calls) - used):
    check(False, "%s is sent somewhere (or sql.c still names a call the daemon dropped)" % name)
print("# sql reads: %s" % ("FAILED" if failures else "all passed"))
sys.exit(1 if failures else 0)
