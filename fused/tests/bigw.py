#!/usr/bin/env python3
"""Writes a JSON string of SIZE bytes ("aaa...") to FILE in 1 MiB write(2)s
and stops at the first refusal. Prints "<ERRNO|OK> <bytes accepted>".
  bigw.py FILE SIZE [OPENS]   OPENS files at once, each an unfinished string
                              of SIZE bytes, before closing any: prints the
                              errnos seen by the writes, then by the closes."""
import errno, os, sys

path, size = sys.argv[1], int(sys.argv[2])
opens = int(sys.argv[3]) if len(sys.argv) > 3 else 0
chunk = b"a" * (1 << 20)

accepted = 0

def fill(fd, size, finish):
    global accepted
    accepted = os.write(fd, b'"')
    done = 1
    while done < size:
        n = os.write(fd, chunk[:min(len(chunk), size - done)])
        done += n
        accepted = done
    if finish:
        os.write(fd, b'"')
        done += 1
    return done

if opens == 0:
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        done = fill(fd, size, True)
        os.close(fd)
        print("OK", done)
    except OSError as e:
        print(errno.errorcode[e.errno], accepted)
    sys.exit(0)

fds, seen = [], []
for i in range(opens):
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    fds.append(fd)
    try:
        fill(fd, size, False)
        seen.append("OK")
    except OSError as e:
        seen.append(errno.errorcode[e.errno])
closes = []
for fd in fds:
    try:
        os.close(fd)
        closes.append("OK")
    except OSError as e:
        closes.append(errno.errorcode[e.errno])
print(" ".join(seen), "/", " ".join(closes))
