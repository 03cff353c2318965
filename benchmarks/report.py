"""The results table, the checks against the issue's targets, and the JSON record of a run."""

from __future__ import annotations

import datetime
import operator
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from benchmarks.runs import Measurement

COMPARISONS: dict[str, Callable[[float, float], bool]] = {"≥": operator.ge, "≤": operator.le, "=": operator.eq}


@dataclass(frozen=True)
class Check:
    name: str
    value: float | None  # None when a denominator is zero: no ratio, counted as a miss
    comparison: str
    target: float
    decimals: int = 2

    @property
    def passed(self) -> bool:
        return self.value is not None and COMPARISONS[self.comparison](self.value, self.target)


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def baseline_ratio(measurement: Measurement, by_key: dict[str, Measurement]) -> float | None:
    """The run's req/s as a fraction of its ceiling's: 1.0 would mean the service costs nothing."""
    if measurement.baseline is None or measurement.baseline not in by_key:
        return None
    ceiling = by_key[measurement.baseline].result.requests_per_second
    return ratio(measurement.result.requests_per_second, ceiling)


def evaluate(measurements: list[Measurement]) -> list[Check]:
    by_key = {measurement.key: measurement.result for measurement in measurements}

    def p50(key: str) -> float:
        return by_key[key].latency_p50_us

    return [
        Check(
            "list req/s ÷ asyncpg-list req/s",
            ratio(by_key["list"].requests_per_second, by_key["asyncpg_list"].requests_per_second),
            "≥",
            0.50,
        ),
        Check("search p50: big book ÷ small book", ratio(p50("search_big"), p50("search_small")), "≤", 3.0),
        Check("birthdays p50: big book ÷ small book", ratio(p50("birthdays_big"), p50("birthdays_small")), "≤", 3.0),
        Check(
            "list p99: login flood ÷ no flood",
            ratio(by_key["list_flood"].latency_p99_us, by_key["list_quiet"].latency_p99_us),
            "≤",
            2.0,
        ),
        Check("errors in all runs (non-2xx + socket)", sum(result.errors for result in by_key.values()), "=", 0, 0),
    ]


def print_report(console: Console, measurements: list[Measurement], checks: list[Check]) -> None:
    by_key = {measurement.key: measurement for measurement in measurements}
    table = Table(
        title="contacts-api benchmark",
        caption="÷ ceiling: req/s over asyncpg-list's for the list rows, over hello's for the other service rows",
    )
    table.add_column("run")
    table.add_column("conns", justify="right")
    table.add_column("req/s", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("÷ ceiling", justify="right")
    for measurement in measurements:
        result = measurement.result
        share = baseline_ratio(measurement, by_key)
        table.add_row(
            measurement.name,
            str(measurement.connections),
            f"{result.requests_per_second:,.1f}",
            f"{result.latency_p50_us / 1000:.2f}",
            f"{result.latency_p99_us / 1000:.2f}",
            f"[red]{result.errors}[/]" if result.errors else "0",
            "—" if share is None else f"{share:.3f}",
        )
    console.print(table)
    if not checks:
        return
    targets = Table(title="targets")
    targets.add_column("check")
    targets.add_column("value", justify="right")
    targets.add_column("target", justify="right")
    targets.add_column("result")
    for check in checks:
        value = "n/a" if check.value is None else f"{check.value:.{check.decimals}f}"
        verdict = "[green]PASS[/]" if check.passed else "[red]MISS[/]"
        targets.add_row(check.name, value, f"{check.comparison} {check.target:.{check.decimals}f}", verdict)
    console.print(targets)


def comparison(measurements: list[Measurement]) -> list[dict[str, Any]]:
    """For each route measured `@before` and `@after` (in one or more rounds): the median of each
    side's figures and the change in req/s between the medians."""
    sides: dict[str, dict[str, list[Measurement]]] = {}
    for measurement in measurements:
        route, at, rest = measurement.key.partition("@")
        if not at:
            continue
        label = rest.partition("#")[0]
        sides.setdefault(route, {}).setdefault(label, []).append(measurement)
    rows = []
    for route, by_label in sides.items():
        if set(by_label) != {"before", "after"}:
            continue
        before, after = (_medians(by_label[label]) for label in ("before", "after"))
        rows.append(
            {
                "route": route,
                "name": by_label["after"][0].name.split(" (after")[0],
                "rounds": len(by_label["after"]),
                **{f"before_{key}": value for key, value in before.items()},
                **{f"after_{key}": value for key, value in after.items()},
                "change": ratio(after["rps"] - before["rps"], before["rps"]),
            }
        )
    return rows


def _medians(runs: list[Measurement]) -> dict[str, float]:
    return {
        "rps": statistics.median(run.result.requests_per_second for run in runs),
        "p50_ms": statistics.median(run.result.latency_p50_us for run in runs) / 1000,
        "p99_ms": statistics.median(run.result.latency_p99_us for run in runs) / 1000,
    }


def print_comparison(console: Console, rows: list[dict[str, Any]], checkout: str) -> None:
    rounds = rows[0]["rounds"] if rows else 0
    table = Table(title=f"side by side: before = {checkout}, after = this tree (medians of {rounds} rounds)")
    for column in ("route", "before req/s", "after req/s", "change", "p50 ms before → after", "p99 ms before → after"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for row in rows:
        change = "n/a" if row["change"] is None else f"{row['change']:+.1%}"
        table.add_row(
            row["name"],
            f"{row['before_rps']:,.1f}",
            f"{row['after_rps']:,.1f}",
            change,
            f"{row['before_p50_ms']:.2f} → {row['after_p50_ms']:.2f}",
            f"{row['before_p99_ms']:.2f} → {row['after_p99_ms']:.2f}",
        )
    console.print(table)


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def write_json(
    path: Path,
    *,
    flags: dict[str, Any],
    seeding: dict[str, Any],
    measurements: list[Measurement],
    checks: list[Check],
    side_by_side: list[dict[str, Any]] | None = None,
    transfers: list[dict[str, Any]] | None = None,
) -> None:
    by_key = {measurement.key: measurement for measurement in measurements}
    document = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "flags": flags,
        "seeding": seeding,
        "runs": [
            {
                "key": measurement.key,
                "name": measurement.name,
                "server": measurement.server,
                "request": measurement.request,
                "connections": measurement.connections,
                "baseline": measurement.baseline,
                "ratio_to_baseline": baseline_ratio(measurement, by_key),
                "errors": measurement.result.errors,
                **msgspec.to_builtins(measurement.result),
            }
            for measurement in measurements
        ],
        "checks": [
            {
                "name": check.name,
                "value": check.value,
                "comparison": check.comparison,
                "target": check.target,
                "passed": check.passed,
            }
            for check in checks
        ],
        **({"side_by_side": side_by_side} if side_by_side else {}),
        **({"transfers": transfers} if transfers else {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n")
