"""Run the benchmarks and write BENCHMARKS.md.

Every ``bench/bench_*.py`` module has ``run(quick: bool) -> str`` returning a
Markdown section. Figures are ratios against a reference measured in the same
run, so they mean something on any machine. ``python -m bench NAME...`` runs
only the named modules and keeps the other sections of BENCHMARKS.md as they
were.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import pkgutil
import platform
import re
import sys
import time
from pathlib import Path

import bench

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "BENCHMARKS.md"
SECTION_RE = re.compile(r"<!-- bench:(\w+) -->\n(.*?)<!-- /bench:\1 -->\n", re.S)


def _modules() -> list[str]:
    return sorted(
        m.name[len("bench_"):]
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"which to run (default all: {', '.join(_modules())})")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for trying the harness")
    args = parser.parse_args(argv)
    names = args.names or _modules()

    previous = {}
    if OUTPUT.exists():
        previous = {m.group(1): m.group(2) for m in SECTION_RE.finditer(OUTPUT.read_text())}

    sections = dict(previous)
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== bench {name}", flush=True)
        started = time.monotonic()
        body = module.run(quick=args.quick).rstrip() + "\n"
        took = time.monotonic() - started
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        sections[name] = body + f"\n_Measured {stamp}, {took:.0f} s{' (quick)' if args.quick else ''}._\n\n"
        print(body, flush=True)
        _write(sections)  # after every section: a later one failing loses nothing measured
    print(f"wrote {OUTPUT}")
    return 0


def _write(sections: dict[str, str]) -> None:
    header = (
        "# Benchmarks\n\n"
        "Written by `make bench` (`python -m bench`). Each figure is measured against a\n"
        "reference taken in the same run on the same machine, so ratios carry over\n"
        "between machines where absolute numbers do not.\n\n"
        f"Machine of the last run: {platform.machine()}, {_cpu_count()} cores, "
        f"Python {platform.python_version()}.\n\n"
    )
    body = "".join(
        f"<!-- bench:{name} -->\n{sections[name]}<!-- /bench:{name} -->\n"
        for name in sorted(sections)
    )
    OUTPUT.write_text(header + body)


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
