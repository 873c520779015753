"""Summarise a py-spy profile recorded with `-f raw` (collapsed stacks): where the time goes.

    py-spy record -f raw -o prof.txt -r 200 -- python -m benchmarks.harness --profile quick --only lifecycle
    python -m benchmarks.pyspy_summary prof.txt [--top 40] [--match incident.py] [--under FUNC]

Prints the share of samples spent in (inclusive) and directly in (self) each function, so a
finding can say "x % of the worker's samples are in FUNC (file:line)". `--match` keeps
only frames whose text contains the string; `--under` keeps only stacks that pass through a
frame containing that string (e.g. `--under "activate (temporalio/worker/_workflow_instance.py"`).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def _func(frame: str) -> str:
    """'name (path/to/file.py:123)' → 'name (file.py)', merging lines of one function."""
    frame = _LINE.sub(")", frame.strip())
    m = re.match(r"(.*) \((.*)\)$", frame)
    if not m:
        return frame
    name, path = m.groups()
    parts = path.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else path
    return f"{name} ({short})"


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        stacks.append((stack.split(";"), n))
    return stacks


def summarise(stacks: list[tuple[list[str], int]], top: int, match: str | None, under: str | None) -> str:
    if under:
        stacks = [(s, n) for s, n in stacks if any(under in f for f in s)]
    total = sum(n for _, n in stacks)
    incl: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    for frames, n in stacks:
        funcs = [_func(f) for f in frames]
        for f in set(funcs):
            incl[f] += n
        if funcs:
            self_[funcs[-1]] += n
    lines = [f"samples: {total}" + (f" (stacks through {under!r})" if under else "")]
    for title, counter in (("inclusive", incl), ("self", self_)):
        lines.append(f"\n{title}:")
        shown = 0
        for f, n in counter.most_common():
            if match and match not in f:
                continue
            lines.append(f"  {100 * n / max(total, 1):5.1f}%  {n:7d}  {f}")
            shown += 1
            if shown >= top:
                break
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--match", default=None)
    p.add_argument("--under", default=None)
    args = p.parse_args()
    print(summarise(load(args.profile), args.top, args.match, args.under))


if __name__ == "__main__":
    main()
