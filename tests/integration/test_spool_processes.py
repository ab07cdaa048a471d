"""The spool with real processes: a file-size limit, four processes at once, SIGKILL, exits.

The spool's in-process behaviour is in tests/unit/test_spool.py, whose helpers these use
(the child processes import them too).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from hypertool_agent import drain_spool, names, spool_status
from hypertool_agent.testing import Spool
from tests.conftest import free_ports
from tests.unit.test_spool import ENDPOINT, Collected, delivery_of, make_spool, request

pytestmark = pytest.mark.integration


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
