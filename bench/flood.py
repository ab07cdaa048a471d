"""A producer flooding the collector: memory, and whether normal agents still get through.

Flood processes send raw OTLP requests of 5,000 delta points each (our token counter,
spread over 50 personas, from a resource with no service.name: one anonymous producer) as
fast as they can, for FLOOD_SECONDS. Meanwhile normal agent processes (the library,
exporting at exit, OTEL_SERVICE_NAME=flood-survivor) record 100 tokens each, two at a
time, one after another until the flood ends. The collector's RSS is sampled from /proc
every 100 ms; the figures are its peak against the memory limit, the flood's accepted and
refused requests, how many of the normal agents' tokens reached Prometheus, and what the
admission processor refused, by reason and producer.

Each limit runs twice on a fresh stack: "before", the admission processor off (the
memory_limiter alone, as before it existed), and "after", the shipped defaults. The
normal agents' tokens are read once the flood and the agents are over. An export the
collector refused is not sent again (this library drops it at exit and says so), so
"counted" is what got through during the flood, with no resend to help.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hypertool_tools import contract as c
from tests.conftest import running_stack

#: Long enough for about 100 agents, so that one refused export shows as about 1 %: the
#: goal is >= 99 % counted.
FLOOD_SECONDS = 60
FLOODERS = 3
NORMAL_PARALLEL = 2
NORMAL_TOKENS = 100
NORMAL_SERVICE = "flood-survivor"
NORMAL_PERSONA = "flood-survivor"
MEMORY_LIMIT_MIB = 512  # otelcol.yaml's default, HYPERTOOL_COLLECTOR_MEMORY_LIMIT_MIB
#: The memory_limiter alone, as before the admission processor: the "before" of each limit.
BEFORE: dict[str, str] = {
    "HYPERTOOL_ADMISSION_ENABLED": "false",
    # The memory_limiter's upstream default: at most one forced collection in 10 s.
    "HYPERTOOL_COLLECTOR_MEMORY_GC_INTERVAL": "10s",
}
#: The shipped defaults.
AFTER: dict[str, str] = {}

FLOODER = """
    import os, time
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as service
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as stub
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

    def attrs(i):
        labels = {"persona": f"flood-{i % 50}", "chatmode": "flood", "model": "gpt-4o"}
        return [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in labels.items()]

    now = time.time_ns()
    points = [m.NumberDataPoint(attributes=attrs(i), start_time_unix_nano=now - 1,
                                time_unix_nano=now, as_int=1) for i in range(5000)]
    metric = m.Metric(name="hypertool.persona.tokens_used", sum=m.Sum(
        data_points=points, aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA,
        is_monotonic=True))
    request = service.ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        scope_metrics=[m.ScopeMetrics(scope={"name": "flood"}, metrics=[metric])])])
    endpoint = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].removeprefix("http://")
    accepted = refused = 0
    deadline = time.monotonic() + float(os.environ["SECONDS"])
    with grpc.insecure_channel(endpoint) as channel:
        export = stub.MetricsServiceStub(channel).Export
        while time.monotonic() < deadline:
            try:
                export(request, timeout=5)
                accepted += 1
            except grpc.RpcError:
                refused += 1
    print(accepted, refused)
"""

NORMAL = """
    import os
    from hypertool_agent import PersonaMetricsCollector
    tokens = int(os.environ["TOKENS"])
    PersonaMetricsCollector().record_token_usage("flood-survivor", "calm", "gpt-4o", tokens)
"""


def start_flooders(
    native: Any,  # noqa: ANN401 - NativeStack
    count: int,
    seconds: float,
) -> list[subprocess.Popen[str]]:
    """``count`` FLOODER processes against ``native``, as one anonymous producer."""
    env = native.agent_env(SECONDS=str(seconds))
    env.pop("OTEL_SERVICE_NAME", None)  # a resource with no name: the anonymous producer
    return [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(FLOODER)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def flood_outcomes(flooders: list[subprocess.Popen[str]], seconds: float) -> list[list[str]]:
    """Each flooder's requests accepted and refused, as it printed them when done."""
    return [p.communicate(timeout=seconds + 60)[0].split() for p in flooders]


def rss_mib(pid: int) -> float:
    """The resident set of a process now, in MiB (VmRSS of /proc/<pid>/status); 0 if none."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """The highest RSS of a process, sampled every 100 ms from start() to stop()."""

    def __init__(self, pid: int) -> None:
        """Sample ``pid`` once started."""
        self.pid, self.mib = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.mib = max(self.mib, rss_mib(self.pid))
            time.sleep(0.1)

    def start(self) -> PeakRss:
        """Begin sampling."""
        self._thread.start()
        return self

    def stop(self) -> float:
        """End sampling; the peak in MiB."""
        self._stop.set()
        self._thread.join()
        return self.mib


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _normal_agents(native: Any) -> int:  # noqa: ANN401 - NativeStack
    """Agent processes, NORMAL_PARALLEL at a time, one after another until the flood ends.

    Returns how many exited without an error.
    """
    # No spool: what counts is what the collector let through during the flood, not
    # what the agents would deliver once it is over.
    env = native.agent_env(
        TOKENS=str(NORMAL_TOKENS), OTEL_SERVICE_NAME=NORMAL_SERVICE, HYPERTOOL_SPOOL="off"
    )
    deadline = time.monotonic() + FLOOD_SECONDS

    def worker() -> int:
        ok = 0
        while time.monotonic() < deadline:
            done = subprocess.run(
                [sys.executable, "-c", textwrap.dedent(NORMAL)],
                env=env,
                check=False,
                timeout=60,
                capture_output=True,
            )
            ok += done.returncode == 0
        return ok

    with ThreadPoolExecutor(NORMAL_PARALLEL) as pool:
        return sum(pool.map(lambda _: worker(), range(NORMAL_PARALLEL)))


def _refused_by_admission(prometheus: Any) -> dict[str, float]:  # noqa: ANN401
    """The admission processor's refusals, "signal/reason/producer" -> items."""
    samples = prometheus.query(f"sum by (signal, reason, producer) ({c.OTELCOL_ADMISSION_REFUSED})")
    return {
        "/".join(s.labels.get(k, "") for k in c.ADMISSION_REFUSED_LABELS): s.value for s in samples
    }


def run(
    memory_limit_mib: int = MEMORY_LIMIT_MIB, settings: dict[str, str] | None = None
) -> dict[str, Any]:
    """Flood the collector; its peak RSS, the flood's fate and the normal agents' tokens."""
    limits = {
        "HYPERTOOL_COLLECTOR_MEMORY_LIMIT_MIB": str(memory_limit_mib),
        "HYPERTOOL_COLLECTOR_MEMORY_SPIKE_MIB": str(memory_limit_mib // 4),
        **(AFTER if settings is None else settings),
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp) / "flood", collector_env=limits) as native,
    ):
        pid = native.stack.pid("collector")
        assert pid is not None  # noqa: S101 - up() waited for it
        rss = PeakRss(pid).start()
        cpu_before = cpu_seconds(pid)
        flooders = start_flooders(native, FLOODERS, FLOOD_SECONDS)
        normal_ok = _normal_agents(native)
        outcomes = flood_outcomes(flooders, FLOOD_SECONDS)
        peak = rss.stop()
        cpu = cpu_seconds(pid) - cpu_before
        time.sleep(3)  # two scrapes
        counted = native.prometheus.query(
            f'sum(hypertool_persona_tokens_used_total{{persona="{NORMAL_PERSONA}"}})'
        )
        refused_items = _refused_by_admission(native.prometheus)
    accepted = sum(int(a) for a, _ in outcomes)
    refused = sum(int(r) for _, r in outcomes)
    sent = normal_ok * NORMAL_TOKENS
    tokens = counted[0].value if counted else 0.0
    return {
        "collector_peak_rss_mib": round(peak, 1),
        "memory_limit_mib": memory_limit_mib,
        "settings": limits,
        "flood_requests_accepted": accepted,
        "flood_requests_refused": refused,
        "flood_refused_share": round(refused / max(accepted + refused, 1), 4),
        "flood_points_accepted": accepted * 5000,
        # What a collector core does: CPU seconds per 10,000 points accepted.
        "collector_cpu_seconds": round(cpu, 2),
        "cpu_seconds_per_10k_points": round(cpu / max(accepted * 5000, 1) * 10_000, 4),
        "normal_tokens_sent": sent,
        "normal_tokens_counted": tokens,
        "normal_counted_share": round(tokens / max(sent, 1), 4),
        "normal_processes_exited_0": normal_ok,
        "admission_refused_items": refused_items,
        "flood_seconds": FLOOD_SECONDS,
    }


def run_all() -> dict[str, Any]:
    """Before and after at the default limit and at one low enough for this flood to reach."""
    return {
        "default_limit_before": run(settings=BEFORE),
        "default_limit": run(),
        "limit_40_mib_before": run(40, BEFORE),
        "limit_40_mib": run(40),
    }


if __name__ == "__main__":
    import json

    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    print(json.dumps(run_all(), indent=2))
