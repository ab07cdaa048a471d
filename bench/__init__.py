"""Benchmarks of hypertool observability: `scripts/bench` runs them all."""
