"""The one exception the benchmark stops on; `python -m benchmarks` prints it and exits 1."""

from __future__ import annotations


class BenchmarkError(RuntimeError):
    """A server did not start, wrk failed, or the database could not be prepared."""
