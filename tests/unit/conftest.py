"""Fixtures for in-process tests: a fresh in-memory Telemetry for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hypertool_agent.testing import RecordedTelemetry, capture_telemetry

#: What the agent recorded, read back (the library's public test helper).
Recorded = RecordedTelemetry


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """An in-memory Telemetry, current for the test (``hypertool_agent.testing``)."""
    with capture_telemetry() as recorded:
        yield recorded


def attrs(**labels: str) -> frozenset[tuple[str, str]]:
    """An attribute set as Recorded.points keys it."""
    return frozenset(labels.items())
