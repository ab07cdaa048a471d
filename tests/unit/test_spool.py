"""The spool: failed exports kept on disk, delivered once, bounded, private to the user."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2

from hypertool_agent import DrainResult, drain_spool, names, spool_status
from hypertool_agent._spool import (
    REASON_SPOOL_EXPIRED,
    REASON_SPOOL_FULL,
    REASON_SPOOL_UNREADABLE,
    Spool,
    points_in,
    tag,
)
from tests.conftest import free_ports

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
    tag(req, delivery)
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


def test_a_full_disk_drops_and_counts(tmp_path: Path) -> None:
    """A write the file system refuses (here: a file size limit) is dropped and counted."""
    code = textwrap.dedent(
        f"""
        import resource, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from tests.unit.test_spool import make_spool, request
        from pathlib import Path
        spool = make_spool(Path({str(tmp_path)!r}))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        print(spool.put(request(1, "proc:1", points=200)), spool.put(request(1, "proc:2")))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "True"], done.stderr
    status = make_spool(tmp_path).status()
    assert (status.files, status.points, status.dropped_pending) == (1, 1, 200)
    assert "spool write failed" in done.stderr


def _writer_and_drainer(root: str, worker: int, log: str) -> None:
    spool = Spool.for_endpoint(ENDPOINT, root=Path(root))
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)

    def send(req: ExportMetricsServiceRequest) -> bool:
        os.write(fd, (delivery_of(req) + "\n").encode())
        return True

    for i in range(40):
        spool.put(request(1, f"w{worker}:{i + 1}"))
        if i % 4 == 3:
            spool.drain(send)
    spool.drain(send, max_files=None)


def test_concurrent_writers_and_drainers_deliver_every_export_exactly_once(
    tmp_path: Path,
) -> None:
    """Four processes writing and draining one spool at once: each export sent once."""
    log = tmp_path / "sent.log"
    log.touch()
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_writer_and_drainer, args=(str(tmp_path), w, str(log))) for w in range(4)
    ]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    sent = log.read_text().split()
    assert sorted(sent) == sorted(f"w{w}:{i + 1}" for w in range(4) for i in range(40))
    assert make_spool(tmp_path).status().files == 0


def test_a_drainer_killed_mid_delivery_leaves_the_file_for_a_resend_with_its_id(
    tmp_path: Path,
) -> None:
    """Killed between the collector's answer and the removal: resent under the same id."""
    spool = make_spool(tmp_path)
    spool.put(request(42, "proc:7"))
    code = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from pathlib import Path
        from tests.unit.test_spool import make_spool, delivery_of
        def send(req):
            print(delivery_of(req), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # acknowledged, never removed
        make_spool(Path({str(tmp_path)!r})).drain(send)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -9
    assert done.stdout.split() == ["proc:7"]
    send = Collected()
    assert spool.drain(send).sent == 1
    assert [delivery_of(r) for r in send.sent] == ["proc:7"]


AGENT_AT_EXIT = """
    from hypertool_agent import PersonaMetricsCollector
    collector = PersonaMetricsCollector()
    for _ in range(3):
        collector.record_token_usage("spooled", "code-gen", "gpt-4o", 100)
"""


def run_agent(endpoint: str, spool_root: Path) -> subprocess.CompletedProcess[str]:
    """A short-lived agent process exporting to ``endpoint``."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(AGENT_AT_EXIT)],
        env={
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "HYPERTOOL_SPOOL_DIR": str(spool_root),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def tokens_waiting(root: Path) -> int:
    """Tokens in every file waiting under ``root``."""
    total = 0
    for path in root.glob("*/*.json"):
        body = json.loads(path.read_text())
        for rm in body["resourceMetrics"]:
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    if m["name"] == names.TOKENS_USED.otel_name:
                        total += sum(int(p["asInt"]) for p in m["sum"]["dataPoints"])
    return total


def test_an_agent_exiting_while_the_collector_refuses_keeps_its_tokens(tmp_path: Path) -> None:
    """Exit with nothing listening: the tokens wait in the spool, and status shows them."""
    (port,) = free_ports(1)
    endpoint = f"http://127.0.0.1:{port}"
    done = run_agent(endpoint, tmp_path)
    assert "refused the connection; metrics not yet sent wait in" in done.stderr
    assert tokens_waiting(tmp_path) == 300
    (status,) = spool_status(tmp_path)
    assert (status.endpoint, status.files, status.points) == (endpoint, 1, 1)


def test_drain_spool_stops_at_a_refusal_and_reports_what_waits(tmp_path: Path) -> None:
    """hypertool_agent.drain_spool with the collector still down sends nothing, loses nothing."""
    (port,) = free_ports(1)
    run_agent(f"http://127.0.0.1:{port}", tmp_path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.2")  # one attempt, no backoff
        ((before, result),) = drain_spool(tmp_path)
    assert (before.files, result.sent, result.failed, result.waiting) == (1, 0, True, 1)
    assert tokens_waiting(tmp_path) == 300
