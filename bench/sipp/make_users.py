#!/usr/bin/env python3
"""Writes a sipp injection file with N users: user0000, user0001, ...

Usage: bench/sipp/make_users.py N [OUTPUT]   (OUTPUT defaults to users.csv next to this script)

Line k is "user<k>;user<k+1 mod N>;": [field0] is the user a call acts as (publisher,
registrant, watcher, message target), [field1] its "buddy" (the presentity a watcher
subscribes to). The file is SEQUENTIAL (sipp -inf users.csv): call c uses line c mod N.
The same user list serves every server under test.
"""
import pathlib
import sys


def main() -> int:
    if len(sys.argv) not in (2, 3) or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        print(f"usage: {sys.argv[0]} N [output.csv]", file=sys.stderr)
        return 2
    count = int(sys.argv[1])
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) == 3 else (
        pathlib.Path(__file__).resolve().parent / "users.csv")
    width = max(4, len(str(count - 1)))
    lines = ["SEQUENTIAL"] + [
        f"user{i:0{width}d};user{(i + 1) % count:0{width}d};" for i in range(count)]
    out.write_text("\n".join(lines) + "\n", encoding="ascii")
    print(f"wrote {count} users to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
