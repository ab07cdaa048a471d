"""What waits in the spool, and sending it: the public face of ``_spool``.

Cheap to import: the spool's protobuf and gRPC machinery loads only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SpoolStatus:
    """What waits for one endpoint: files, their points and bytes, and drops not yet sent."""

    directory: Path
    endpoint: str
    files: int
    points: int
    bytes: int
    oldest_age_s: float | None
    dropped_pending: int


@dataclass(frozen=True)
class DrainResult:
    """One drain: files delivered, and the files still waiting after it."""

    sent: int
    failed: bool
    waiting: int


def spool_status(root: Path | None = None) -> list[SpoolStatus]:
    """What waits in the spool, per endpoint (the ``hypertool spool status`` command).

    ``root`` defaults to ``$HYPERTOOL_SPOOL_DIR``, else ``$XDG_STATE_HOME/hypertool/spool``::

        for waiting in hypertool_agent.spool_status():
            print(waiting.endpoint, waiting.files, waiting.points)
    """
    from hypertool_agent._spool import spools

    return [spool.status() for spool in spools(root)]


def drain_spool(root: Path | None = None) -> list[tuple[SpoolStatus, DrainResult]]:
    """Send everything waiting to its endpoint now (the ``hypertool spool drain`` command).

    Each endpoint is sent to with the standard ``OTEL_EXPORTER_OTLP_*`` headers and TLS
    settings, until its spool is empty or the collector refuses a file; the status is
    taken before the drain::

        for before, result in hypertool_agent.drain_spool():
            print(before.endpoint, result.sent, result.waiting)
    """
    from hypertool_agent._delivery import drain_all

    return drain_all(root)
