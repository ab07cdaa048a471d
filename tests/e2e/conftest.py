"""Fixtures the end-to-end modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.otlp_sink import OtlpSink


@pytest.fixture(scope="module")
def sink() -> Iterator[OtlpSink]:
    """A traces backend on loopback, for a module whose collector forwards spans to it."""
    with OtlpSink() as backend:
        yield backend
