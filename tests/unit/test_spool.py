"""The spool: failed exports kept on disk, delivered once, bounded, private to the user.

In-process, through ``hypertool_agent.testing``; what takes real processes (a full disk
under a file-size limit, concurrent writers and drainers, a drainer killed mid-delivery,
an agent exiting while the collector refuses) is in tests/integration/test_spool_processes.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2

from hypertool_agent import DrainResult, names
from hypertool_agent.names import (
    REASON_SPOOL_EXPIRED,
    REASON_SPOOL_FULL,
    REASON_SPOOL_UNREADABLE,
)
from hypertool_agent.testing import Spool, points_in, tag_delivery

ENDPOINT = "http://127.0.0.1:1"


def request(tokens: int, delivery: str, points: int = 1) -> ExportMetricsServiceRequest:
    """An export of ``points`` token points of ``tokens`` each, named ``delivery``."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    sm = rm.scope_metrics.add()
    metric = sm.metrics.add(name=names.TOKENS_USED.otel_name)
    metric.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
    metric.sum.is_monotonic = True
    for i in range(points):
        point = metric.sum.data_points.add(as_int=tokens)
        point.attributes.add(key=names.PERSONA).value.string_value = f"p{i}"
    tag_delivery(req, delivery)
    return req


def delivery_of(req: ExportMetricsServiceRequest) -> str:
    """The delivery id a request carries."""
    (value,) = [
        a.value.string_value
        for a in req.resource_metrics[0].resource.attributes
        if a.key == names.DELIVERY_ID
    ]
    return value


def dropped(req: ExportMetricsServiceRequest) -> dict[str, int]:
    """The drop counts an export of ``hypertool.agent.dropped_measurements`` carries."""
    out: dict[str, int] = {}
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name == names.DROPPED_MEASUREMENTS.otel_name:
                    for p in m.sum.data_points:
                        out[p.attributes[0].value.string_value] = p.as_int
    return out


class Collected:
    """A ``send`` that takes everything, or refuses while ``refusing`` is set."""

    def __init__(self) -> None:
        """Nothing sent yet."""
        self.sent: list[ExportMetricsServiceRequest] = []
        self.refusing = False

    def __call__(self, req: ExportMetricsServiceRequest) -> bool:
        """Take ``req`` unless refusing."""
        if self.refusing:
            return False
        self.sent.append(req)
        return True


def make_spool(tmp_path: Path, max_bytes: int = 1 << 20, max_age_s: float = 3600) -> Spool:
    """A spool under ``tmp_path`` with these limits."""
    spool = Spool.for_endpoint(ENDPOINT, root=tmp_path)
    spool.max_bytes, spool.max_age_s = max_bytes, max_age_s
    return spool


def test_put_then_drain_delivers_each_export_once_oldest_first(tmp_path: Path) -> None:
    """Exports come back whole, in the order kept, with their delivery ids, then are gone."""
    spool = make_spool(tmp_path)
    for i in range(5):
        assert spool.put(request(10 + i, f"proc:{i + 1}"))
    send = Collected()
    result = spool.drain(send)
    assert (result.sent, result.failed, result.waiting) == (5, False, 0)
    assert [delivery_of(r) for r in send.sent] == [f"proc:{i + 1}" for i in range(5)]
    assert [r.resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0].as_int
            for r in send.sent] == [10, 11, 12, 13, 14]  # fmt: skip
    assert spool.drain(send).sent == 0


def test_a_refusal_stops_the_drain_and_keeps_the_rest(tmp_path: Path) -> None:
    """The file the collector refused and every later one stay for the next drain."""
    spool = make_spool(tmp_path)
    for i in range(3):
        spool.put(request(1, f"proc:{i + 1}"))
    send = Collected()
    send.refusing = True
    assert spool.drain(send) == DrainResult(sent=0, failed=True, waiting=3)
    send.refusing = False
    assert spool.drain(send, max_files=2).sent == 2
    assert spool.status().files == 1


def test_files_are_private_to_the_user(tmp_path: Path) -> None:
    """The directory is 0700 and every file 0600, even under a permissive umask."""
    old = os.umask(0)
    try:
        spool = make_spool(tmp_path)
        spool.put(request(1, "proc:1"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(spool.directory.stat().st_mode) == 0o700
    for path in spool.directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_torn_file_is_dropped_and_counted(tmp_path: Path) -> None:
    """A file that does not parse is removed, and counted as spool_unreadable."""
    spool = make_spool(tmp_path)
    spool.put(request(7, "proc:1"))
    (spool.directory / "00000000000000000001-1-torn.json").write_text('{"resourceMetrics": [{"re')
    send = Collected()
    spool.drain(send)
    tokens = [r for r in send.sent if not dropped(r)]
    assert [delivery_of(r) for r in tokens] == ["proc:1"]
    assert [dropped(r) for r in send.sent if dropped(r)] == [{REASON_SPOOL_UNREADABLE: 1}]
    assert (spool.status().files, spool.status().dropped_pending) == (0, 0)


def test_beyond_the_bound_exports_are_dropped_and_counted(tmp_path: Path) -> None:
    """Refused for longer than the bound: the spool stops at its size and counts the rest."""
    one = len(request(1, "proc:1", points=10).SerializeToString()) * 4  # JSON is larger
    spool = make_spool(tmp_path, max_bytes=3 * one)
    kept = sum(spool.put(request(1, f"proc:{i + 1}", points=10)) for i in range(10))
    status = spool.status()
    assert 1 <= kept < 10
    assert status.bytes <= spool.max_bytes
    assert status.points == 10 * kept
    assert status.dropped_pending == 10 * (10 - kept)
    send = Collected()
    spool.drain(send, max_files=None)
    counts = [dropped(r) for r in send.sent if dropped(r)]
    assert counts == [{REASON_SPOOL_FULL: 10 * (10 - kept)}]
    assert sum(points_in(r) for r in send.sent if not dropped(r)) == 10 * kept


def test_a_file_older_than_the_maximum_age_is_dropped_and_counted(tmp_path: Path) -> None:
    """Past its age a file is never sent: the collector may no longer know its id."""
    spool = make_spool(tmp_path, max_age_s=1)
    spool.put(request(5, "proc:1", points=3))
    (path,) = spool.waiting()
    os.rename(path, path.with_name("00000000001000000000" + path.name[20:]))  # from 1970
    send = Collected()
    spool.drain(send, max_files=None)
    assert [dropped(r) for r in send.sent] == [{REASON_SPOOL_EXPIRED: 3}]
