"""python -m tests.soak [--short] [--out DIR]

Starts its own emulator, runs the three reliability experiments of tests/soak (faults,
interruptions, concurrent runs) and writes DIR/soak.json and DIR/soak.md. Exits 1 when any
experiment found a problem (listed at the end of soak.md)."""
from __future__ import annotations

import argparse
import os
import sys

from tests.soak import EXPERIMENTS, FULL, SHORT, all_problems, run_soak


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split("\n\n")[1])
    parser.add_argument("--short", action="store_true", help="the small form that make test runs (a few minutes)")
    parser.add_argument("--out", default=os.path.join("build", "soak"), help="where soak.json and soak.md go")
    parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, default=list(EXPERIMENTS),
                        help="run only these experiments, keeping the others' figures from DIR/soak.json")
    args = parser.parse_args(argv)
    result = run_soak(SHORT if args.short else FULL, args.out, log=lambda line: print(line, flush=True),
                      experiments=tuple(args.only))
    with open(os.path.join(args.out, "soak.md"), encoding="utf-8") as handle:
        print(handle.read())
    problems = all_problems(result)
    print(f"soak: {'OK' if not problems else f'{len(problems)} PROBLEMS'} ({result['seconds']} s); "
          f"{os.path.join(args.out, 'soak.json')}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
