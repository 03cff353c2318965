"""Load tests of contacts-api against its ceilings; run `python -m benchmarks --help`."""
