"""Tests of hypertool observability."""
