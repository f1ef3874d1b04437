#!/usr/bin/env python3
"""Writes a document to a durablefs file in pieces, as a writer may split it.
  splitw.py FILE DOC AT       two write(2)s, split at byte AT
  splitw.py FILE DOC bytes    one write(2) per byte
  splitw.py FILE A|B docs     one write(2) of A, then one of B
Prints OK, or "<write|close> <ERRNO>" for the call that failed."""
import errno, os, sys

path, doc, how = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
if how == "bytes":
    pieces = [doc[i:i + 1] for i in range(len(doc))]
elif how == "docs":
    pieces = doc.split(b"|")
else:
    at = int(how)
    pieces = [doc[:at], doc[at:]]
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
try:
    for p in pieces:
        os.write(fd, p)
except OSError as e:
    print("write", errno.errorcode[e.errno])
    os.close(fd)
    sys.exit(0)
try:
    os.close(fd)
except OSError as e:
    print("close", errno.errorcode[e.errno])
    sys.exit(0)
print("OK")
