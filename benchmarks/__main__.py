"""`python -m benchmarks`: seed a PostgreSQL database, load the ceilings and the service with wrk,
print one table and the checks against the performance targets, and write them all as JSON.

The exit status is 0 whenever every run completed, targets met or not: it is a measurement. It is 1
when a server does not start, wrk fails or the database cannot be prepared.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from benchmarks.database import BenchDatabase, database_name
from benchmarks.errors import BenchmarkError
from benchmarks.report import comparison, evaluate, print_comparison, print_report, write_json
from benchmarks.runs import LoadRunner, Options, run_ceilings, run_service, run_side_by_side
from benchmarks.seed import SeededData, SeedPlan, seed_database
from benchmarks.transfers import as_json, print_transfers
from benchmarks.wrk import find_wrk


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server (and a database on it) to create the benchmark database from",
    )
    parser.add_argument(
        "--database",
        type=database_name,
        default="contacts_bench",
        help="benchmark database: dropped and created afresh on every run",
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--users", type=positive_int, default=1000, help="users to seed (at least 3)")
    parser.add_argument("--big-book", type=positive_int, default=100_000, help="contacts of the one big-book user")
    parser.add_argument("--book", type=positive_int, default=100, help="contacts of each other user")
    parser.add_argument("--workers", type=positive_int, default=1, help="server worker processes")
    parser.add_argument("--duration", type=positive_int, default=10, help="seconds per wrk run")
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of the same load before each measured run, not recorded"
    )
    parser.add_argument("--connections", type=positive_int, default=32, help="wrk connections for throughput runs")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results.json"), help="where to write JSON")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the generated data")
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="CHECKOUT",
        help="also run another checkout's service (a `git worktree` of the commit before, with `uv sync` done "
        "there) against the same data, route by route beside this tree's, and report both",
    )
    parser.add_argument(
        "--after",
        type=Path,
        metavar="CHECKOUT",
        help="with --compare-with: the checkout measured as 'after' (default: this tree)",
    )
    parser.add_argument(
        "--rounds", type=positive_int, default=3, help="with --compare-with: alternating rounds, medians reported"
    )
    parser.add_argument(
        "--compare-only", action="store_true", help="with --compare-with: skip the ceilings and the standalone runs"
    )
    args = parser.parse_args(argv)
    if args.users < 3:
        parser.error("--users must be at least 3: a big book, a small book and a login flooder")
    if args.compare_only and args.compare_with is None:
        parser.error("--compare-only needs --compare-with")
    for flag, tree in (("--compare-with", args.compare_with), ("--after", args.after)):
        if tree is not None and not (tree / ".venv" / "bin" / "python").exists():
            parser.error(f"{flag} {tree}: no .venv there; run `uv sync` in it first")
    if args.after is not None and args.compare_with is None:
        parser.error("--after needs --compare-with")
    return args


def seed_with_progress(console: Console, database: BenchDatabase, plan: SeedPlan) -> tuple[SeededData, float]:
    """Seed the database; returns what was seeded and how many seconds it took."""
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]seeding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("rows", total=plan.total_rows)
        seeded = asyncio.run(
            seed_database(database.asyncpg_dsn, plan, advance=lambda rows: progress.advance(task, rows))
        )
    seconds = time.perf_counter() - started
    console.print(f"seeded {plan.users:,} users and {plan.total_contacts:,} contacts in {seconds:.1f} s")
    return seeded, seconds


def run(args: argparse.Namespace, console: Console) -> None:
    wrk_path = find_wrk()
    database = BenchDatabase(args.admin_url, args.database)
    plan = SeedPlan(users=args.users, big_book=args.big_book, book=args.book, seed=args.seed)
    options = Options(workers=args.workers, duration=args.duration, connections=args.connections)
    runner = LoadRunner(wrk_path, console, warmup_seconds=max(0, args.warmup))
    database.recreate()
    console.print(f"database {database.display_url}: created afresh and migrated")
    try:
        seeded, seeding_seconds = seed_with_progress(console, database, plan)
        console.print(
            "rate limits off in the service (RATE_LIMIT_AUTH=0, RATE_LIMIT_LOGIN_FAILURES=0): "
            "the login runs measure argon2, not 429s"
        )
        for fragment, found in seeded.matches.items():
            console.print(
                f"q={fragment!r} matches {found['small']:,} contacts in the small book, {found['big']:,} in the big one"
            )
        console.print(f"wrk -t1, {args.duration} s per run")
        with tempfile.TemporaryDirectory(prefix="contacts-bench-") as workdir:
            if not args.compare_only:
                run_ceilings(runner, options, database, seeded, Path(workdir))
                run_service(runner, options, database, seeded, Path(workdir), plan.big_book)
            if args.compare_with is not None:
                run_side_by_side(
                    runner,
                    options,
                    database,
                    seeded,
                    Path(workdir),
                    args.compare_with.resolve(),
                    args.rounds,
                    args.after.resolve() if args.after else None,
                )
    finally:
        if args.keep:
            console.print(f"kept database {args.database}")
        else:
            database.drop()
    checks = [] if args.compare_only else evaluate(runner.measurements)
    side_by_side = comparison(runner.measurements)
    print_report(console, runner.measurements, checks)
    if runner.transfers:
        print_transfers(console, runner.transfers)
    if side_by_side:
        print_comparison(console, side_by_side, str(args.compare_with))
    write_json(
        args.output,
        flags={key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()},
        seeding={
            "users": plan.users,
            "contacts": plan.total_contacts,
            "seconds": round(seeding_seconds, 3),
            "search_fragment": seeded.search_fragment,
            "broad_fragment": seeded.broad_fragment,
            "matches": seeded.matches,
        },
        measurements=runner.measurements,
        checks=checks,
        side_by_side=side_by_side,
        transfers=as_json(runner.transfers),
    )
    console.print(f"results written to {args.output}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Wide enough for the table when the output is a pipe or a CI log, which rich treats as 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 120)
    started = time.perf_counter()
    try:
        run(args, console)
    except BenchmarkError as exc:
        # Plain text: the message may quote a server log, whose brackets are not rich markup.
        console.print(Text.assemble(("benchmark failed: ", "bold red"), str(exc)))
        return 1
    console.print(f"finished in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
