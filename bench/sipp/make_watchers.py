#!/usr/bin/env python3
"""Writes sipp injection files for NOTIFY fan-out: W watchers spread over P presentities.

Usage: bench/sipp/make_watchers.py W P WATCHERS_CSV [PRESENTITIES_CSV]

WATCHERS_CSV line k (k = 0..W-1) is "watch<k>;pres<k mod P>;": [field0] is the watcher
(From user of subscribe_watch.xml), [field1] the presentity it subscribes to, so every
presentity gets W/P watchers (one more for the first W mod P). PRESENTITIES_CSV, if given,
has P lines "pres<j>;" ([field0] of publish_fanout.xml / publish_load.xml). Both files are
SEQUENTIAL (call c uses line c mod N). Every watcher is a distinct user, so no per-watcher
subscription limit applies.
"""
import pathlib
import sys


def main() -> int:
    args = sys.argv[1:]
    if len(args) not in (3, 4) or not all(a.isdigit() and int(a) > 0 for a in args[:2]):
        print(f"usage: {sys.argv[0]} WATCHERS PRESENTITIES WATCHERS_CSV [PRESENTITIES_CSV]",
              file=sys.stderr)
        return 2
    watchers, presentities = int(args[0]), int(args[1])
    ww = max(5, len(str(watchers - 1)))
    pw = max(4, len(str(presentities - 1)))
    rows = ["SEQUENTIAL"] + [
        f"watch{k:0{ww}d};pres{k % presentities:0{pw}d};" for k in range(watchers)]
    pathlib.Path(args[2]).write_text("\n".join(rows) + "\n", encoding="ascii")
    if len(args) == 4:
        rows = ["SEQUENTIAL"] + [f"pres{j:0{pw}d};" for j in range(presentities)]
        pathlib.Path(args[3]).write_text("\n".join(rows) + "\n", encoding="ascii")
    print(f"wrote {watchers} watchers of {presentities} presentities to {args[2]}"
          + (f" and the presentities to {args[3]}" if len(args) == 4 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
