"""Benchmarks: scripts run by hand (`python -m bench.recalc`); results in docs/benchmarks.md."""
