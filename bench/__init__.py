"""Benchmarks: each ``bench_*.py`` module measures one area against a reference."""
