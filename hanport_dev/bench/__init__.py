"""Helpers for the benchmarks in ``benchmarks/`` (``scripts/bench``) and their tests."""
