"""python -m tests.bench [--accounts 10,50,200,500] [--tenants 2] [--latency-ms 50] [--forks 20]
                        [--azcollection/--no-azcollection] [--azcollection-sizes 10,50,200]
                        [--azcollection-again/--no-azcollection-again]
                        [--baseline REF[,REF...]] [--out build/bench]

Runs configure.yml twice (first run, no-op run) over a generated world of N storage accounts in
the Azure emulator for each N, optionally azure.azcollection's job side by side, writes
<out>/bench.json and <out>/bench.md and prints the Markdown table. See docs/benchmark.md.

--baseline REF also runs REF's playbooks/configure.yml (a git worktree of REF under
build/bench/baseline-<short sha>, reused when present) at each N, on the same world with the same
forks and latency; its rows are "configure (REF <sha>), first run" / "no-op run", and a
before / after table per N follows the main table; several refs, comma-separated, each get theirs.
The working tree's runs also include verify.yml and the Ansible floor (tests/bench/floor.yml: one
ping per account), and each run's wall time over the floor's. The exit status is the working
tree's targets'."""
from __future__ import annotations

import argparse
import sys
import time

from tests.bench import AZC_SIZES, markdown, run_bench


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", default="10,50,200,500", help="comma-separated sizes N")
    parser.add_argument("--tenants", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=50, help="the emulator's latency per request")
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--azcollection", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the job with azure.azcollection (its venv is created when missing)")
    parser.add_argument("--azcollection-sizes", default=",".join(map(str, AZC_SIZES)),
                        help="comma-separated sizes N at which azure.azcollection runs too; its runs cost about "
                             "21 CPU s per account")
    parser.add_argument("--azcollection-again", action=argparse.BooleanOptionalAction, default=True,
                        help="run azure.azcollection's job a second time, as configure's no-op run")
    parser.add_argument("--baseline", metavar="REF", default=None,
                        help="git refs, comma-separated (e.g. 02c97d2), whose configure.yml is measured beside "
                             "the working tree's; a before / after table for each")
    parser.add_argument("--out", default="build/bench")
    return parser.parse_args(argv)


def sizes_of(text: str) -> list[int]:
    """'10, 50,200' -> [10, 50, 200]; empty items are ignored."""
    return [int(n) for n in text.split(",") if n.strip()]


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes = sizes_of(args.accounts)
    started = time.monotonic()
    results = run_bench(sizes, tenants=args.tenants, latency_ms=args.latency_ms, forks=args.forks,
                        azcollection=args.azcollection, azcollection_sizes=sizes_of(args.azcollection_sizes),
                        out=args.out, azcollection_again=args.azcollection_again, baseline=args.baseline,
                        log=lambda msg: print(f"[{time.monotonic() - started:7.1f}s] {msg}", file=sys.stderr, flush=True))
    print(markdown(results))
    print(f"{args.out}/bench.json, {args.out}/bench.md ({results['bench_seconds']} s)")
    return 0 if all(all(s["targets"].values()) for s in results["sizes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
