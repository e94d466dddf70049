#!/usr/bin/env python3
"""Lists functions longer than a limit (default 80 lines) in the workspace's Rust sources,
and files longer than 800 lines. A function may be longer when a `// Long because …` comment
sits right above it (among its doc comments and attributes). Test code (`tests/`, and
everything after `#[cfg(test)]` in a file) is not counted. Exit status 1 when anything is
listed, so CI can hold the shape.

    python3 tools/long_functions.py [--limit 80] [PATH ...]
"""
import argparse
import pathlib
import re
import sys

FN = re.compile(r"^(\s*)(pub(\([a-z]+\))? )?(const )?(async )?(unsafe )?fn \w+")


def long_functions(path, limit):
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.strip().startswith("#[cfg(test)]"):
            break
        m = FN.match(line)
        if not m:
            continue
        indent = m.group(1)
        end = next(
            (j for j in range(i, len(lines)) if lines[j] == indent + "}" or
             (j == i and lines[j].rstrip().endswith(";"))),
            None,
        )
        if end is None:
            continue
        length = end - i + 1
        if length <= limit:
            continue
        k = i - 1
        excused = False
        while k >= 0 and lines[k].strip().startswith(("///", "//", "#[")):
            if lines[k].strip().startswith("// Long because"):
                excused = True
            k -= 1
        if not excused:
            found.append((i + 1, length, line.strip()))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("paths", nargs="*", default=["src", "crates"])
    args = ap.parse_args()
    bad = 0
    for root in args.paths:
        for path in sorted(pathlib.Path(root).rglob("*.rs")):
            n = sum(1 for _ in path.open(encoding="utf-8"))
            if n > 800:
                print(f"{path}: {n} lines (over 800)")
                bad += 1
            for line, length, head in long_functions(path, args.limit):
                print(f"{path}:{line}: {length} lines: {head}")
                bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
