"""The collector against its own limit: our pipeline beside a passthrough, at full load.

telemetrygen (the collector-contrib load generator, at the collector's version, built once
into the cache) sends, from WORKERS goroutines as fast as the collector answers, delta
sums under our counter's name; then SPAN_SENDERS threads send one encoded request of
stage spans with the library's attributes again and again (cheap to send, so the
collector, not the generator, is the bound). The same binary runs twice, alternately:
with hypertool's configuration (the whole pipeline to the ledger and the prometheus
exporter) and with a passthrough (collector-config/profiling/passthrough.yaml: OTLP in,
memory_limiter, the prometheus exporter and a nop exporter out). For each signal and
each configuration: items accepted per second, items refused (zero loss: the receiver
acknowledges ours only once the ledger has journaled them), the collector's CPU and peak
RSS from /proc.
``profile`` then says where our pipeline's CPU goes under the same load.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.flood import PeakRss, cpu_seconds
from hypertool_tools.stack.build import go_binary, go_tool, manifest_version
from hypertool_tools.stack.launcher import healthy
from tests.conftest import LOOPBACK, ROOT, free_ports, running_stack

SECONDS = 20
WORKERS = 8
#: OTLP in, memory_limiter, and exporters that do no work of their own.
PASSTHROUGH = ROOT / "collector-config/profiling/passthrough.yaml"


def telemetrygen() -> Path:
    """Telemetrygen at the collector's version, installed once into the cache."""
    module = "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"
    return go_tool(module, f"v{manifest_version(ROOT)}", "telemetrygen")


#: What each signal's load is, and the receiver's counters of it in the collector's telemetry.
SIGNALS = {"metrics": "metric_points", "traces": "spans"}
#: The attributes of the library's stage spans, which the genai connector makes histograms of.
STAGE_SPAN = {
    "hypertool.span.type": "stage",
    "hypertool.workflow.name": "limit",
    "hypertool.stage.name": "bench",
    "hypertool.persona.name": "backend-engineer",
}


def _accepted(telemetry_port: int, signal: str) -> tuple[float, float]:
    url = f"http://127.0.0.1:{telemetry_port}/metrics"
    with LOOPBACK.open(url, timeout=10) as response:
        text = response.read().decode()
    totals = {"accepted": 0.0, "refused": 0.0}
    for line in text.splitlines():
        for kind in totals:
            if line.startswith(f"otelcol_receiver_{kind}_{SIGNALS[signal]}"):
                totals[kind] += float(line.rsplit(" ", 1)[1])
    return totals["accepted"], totals["refused"]


def _generator(grpc_port: int, seconds: int) -> list[str]:
    """The telemetrygen command line, unthrottled: our token counter (spans: _send_spans)."""
    common = [
        str(telemetrygen()), "metrics", "--otlp-insecure",
        f"--otlp-endpoint=127.0.0.1:{grpc_port}", f"--duration={seconds}s",
        f"--workers={WORKERS}", "--rate=0", "--batch-size=1000", "--allow-export-failures",
    ]  # fmt: skip
    return [
        *common, "--metric-type=Sum", "--aggregation-temporality=delta",
        "--otlp-metric-name=hypertool.persona.tokens_used",
        '--telemetry-attributes=persona="limit"', '--telemetry-attributes=model="gpt-4o"',
        '--telemetry-attributes=chatmode="bench"',
    ]  # fmt: skip


#: Spans per request, and the threads sending them: one request encoded once and sent
#: again and again costs the sender little, so the collector is the bound, not the
#: generator (telemetrygen's Go SDK took most of the 2 cores and left the collector at 5%
#: of one, where its fixed costs blurred the CPU per span).
SPANS_PER_REQUEST = 512
SPAN_SENDERS = 2


def _stage_spans_request() -> bytes:
    """One OTLP export of SPANS_PER_REQUEST stage spans, encoded."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="span-load"))
    )
    scope = resource.scope_spans.add()
    scope.scope.name = "hypertool_agent"
    now = time.time_ns()
    for i in range(SPANS_PER_REQUEST):
        span = scope.spans.add()
        span.trace_id = os.urandom(16)
        span.span_id = (i + 1).to_bytes(8, "big")
        span.name = "stage bench"
        span.start_time_unix_nano = now
        span.end_time_unix_nano = now + 750_000_000
        for key, value in STAGE_SPAN.items():
            span.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
    return request.SerializeToString()


def _send_spans(grpc_port: int, seconds: int) -> None:
    """SPAN_SENDERS threads export the same encoded request for ``seconds``."""
    import grpc  # type: ignore[import-untyped]  # grpcio ships no type information

    body = _stage_spans_request()
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=None,
            response_deserializer=None,
        )

        def loop() -> None:
            while time.monotonic() < deadline:
                try:
                    export(body, timeout=10)
                except grpc.RpcError:
                    time.sleep(0.01)  # refused: counted by the collector, sent again

        threads = [threading.Thread(target=loop) for _ in range(SPAN_SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _load(pid: int, grpc_port: int, telemetry_port: int, signal: str) -> dict[str, Any]:
    rss = PeakRss(pid).start()
    cpu0, (accepted0, refused0) = cpu_seconds(pid), _accepted(telemetry_port, signal)
    started = time.monotonic()
    if signal == "traces":
        _send_spans(grpc_port, SECONDS)
    else:
        subprocess.run(
            _generator(grpc_port, SECONDS),
            check=True,
            capture_output=True,
            timeout=SECONDS + 120,
        )
    wall = time.monotonic() - started
    time.sleep(1)
    cpu = cpu_seconds(pid) - cpu0
    accepted, refused = _accepted(telemetry_port, signal)
    peak = rss.stop()
    items = accepted - accepted0
    return {
        "per_second": round(items / wall),
        "refused": refused - refused0,
        "collector_cores": round(cpu / wall, 2),
        "cpu_seconds_per_10k": round(cpu / max(items, 1) * 10_000, 4),
        "collector_peak_rss_mib": round(peak, 1),
    }


def _both(pid: int, grpc_port: int, telemetry_port: int) -> dict[str, Any]:
    return {signal: _load(pid, grpc_port, telemetry_port, signal) for signal in SIGNALS}


def _ours() -> dict[str, Any]:
    # Scraped at prometheus.yml's interval (15 s), as the stack runs: the tests' 1 s scrape
    # of every series would be CPU the passthrough, which nothing scrapes, never spends.
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), None) as native:
        pid = native.stack.pid("collector")
        assert pid is not None  # noqa: S101 - up() waited for it
        ports = native.stack.ports
        return _both(pid, ports.otlp_grpc, ports.collector_telemetry)


def _passthrough() -> dict[str, Any]:
    from hypertool_tools.stack.build import binaries

    grpc, exporter, health, telemetry = free_ports(4)
    env = {
        **os.environ,
        "HYPERTOOL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{grpc}",
        "HYPERTOOL_PROMETHEUS_EXPORTER_ENDPOINT": f"127.0.0.1:{exporter}",
        "HYPERTOOL_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{health}",
        "HYPERTOOL_COLLECTOR_TELEMETRY_PORT": str(telemetry),
    }
    collector = subprocess.Popen(
        [str(binaries(ROOT).collector), f"--config={PASSTHROUGH}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not healthy(f"http://127.0.0.1:{health}/") and time.monotonic() < deadline:
            time.sleep(0.2)
        return _both(collector.pid, grpc, telemetry)
    finally:
        collector.terminate()
        collector.wait(timeout=30)


#: Where the collector's CPU goes, by the frame that stands for each stage: a frame's
#: cumulative share of the profile (stages nest in the receiver's frame).
PROFILE_FRAMES = {
    "metrics": {
        "decode the request": "pdata/internal.(*ExportMetricsServiceRequest).UnmarshalProto",
        "admission": "admissionprocessor.(*admitter).admit",
        "agent_sums": "agentsumsconnector.(*agentSums).ConsumeMetrics",
        "genai": "genaiconnector.(*genai).ConsumeMetrics",
        "ledger": "ledgerprocessor.(*ledger).ConsumeMetrics",
        "garbage collection": "runtime.gcBgMarkWorker",
    },
    "traces": {
        "decode the request": "pdata/internal.(*ExportTraceServiceRequest).UnmarshalProto",
        "admission": "admissionprocessor.(*admitter).admit",
        "genai": "genaiconnector.(*genai).ConsumeTraces",
        "ledger": "ledgerprocessor.(*ledger).ConsumeMetrics",
        "garbage collection": "runtime.gcBgMarkWorker",
    },
}
PROFILE_SECONDS = 15


def profile(signal: str = "metrics") -> dict[str, float]:
    """Each stage's share (%) of the collector's CPU under ``signal``'s load of ``run``.

    The pprof extension is in our distribution but on only with
    collector-config/profiling/pprof.yaml, which this loads after the stack's own config.
    """
    from hypertool_tools.stack.build import binaries

    (pprof_port,) = free_ports(1)
    overlay = ROOT / "collector-config/profiling/pprof.yaml"
    env = {"HYPERTOOL_PPROF_ENDPOINT": f"127.0.0.1:{pprof_port}"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp), "1s", collector_overlays=(overlay,), collector_env=env) as native,
    ):
        load = _start_load(native.stack.ports.otlp_grpc, PROFILE_SECONDS + 10, signal)
        time.sleep(3)  # past the generator's start
        url = f"http://127.0.0.1:{pprof_port}/debug/pprof/profile?seconds={PROFILE_SECONDS}"
        with LOOPBACK.open(url, timeout=PROFILE_SECONDS + 30) as response:
            cpu_profile = Path(tmp) / "cpu.pprof"
            cpu_profile.write_bytes(response.read())
        load.join(timeout=60)
        top = subprocess.run(
            [go_binary(), "tool", "pprof", "-top", "-cum", "-nodecount=1000",
             str(binaries(ROOT).collector), str(cpu_profile)],
            check=True, capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
    if os.environ.get("HYPERTOOL_PROFILE_TOP"):
        Path(os.environ["HYPERTOOL_PROFILE_TOP"]).write_text(top)
    return _shares(top, PROFILE_FRAMES[signal])


def _start_load(grpc_port: int, seconds: int, signal: str) -> threading.Thread:
    """``_load``'s load, in the background."""
    if signal == "traces":
        thread = threading.Thread(target=_send_spans, args=(grpc_port, seconds))
    else:
        command = _generator(grpc_port, seconds)
        thread = threading.Thread(
            target=subprocess.run,
            args=(command,),
            kwargs={"capture_output": True, "timeout": seconds + 120, "check": False},
        )
    thread.start()
    return thread


def _shares(top: str, frames: dict[str, str]) -> dict[str, float]:
    """The cumulative % of each of ``frames`` in ``go tool pprof -top -cum`` output."""
    shares = {}
    for stage, frame in frames.items():
        line = next((row for row in top.splitlines() if row.endswith(frame)), None)
        shares[stage] = float(line.split()[4].rstrip("%")) if line else 0.0
    return shares


def run(rounds: int = 2) -> dict[str, Any]:
    """Both configurations, alternately; per signal the better round of each, and the ratio."""
    ours, passthrough = [], []
    for _ in range(rounds):
        passthrough.append(_passthrough())
        ours.append(_ours())
    result: dict[str, Any] = {"workers": WORKERS, "seconds": SECONDS, "cpu_count": os.cpu_count()}
    for signal in SIGNALS:
        best_ours = max((r[signal] for r in ours), key=lambda r: r["per_second"])
        best_pass = max((r[signal] for r in passthrough), key=lambda r: r["per_second"])
        result[signal] = {
            "hypertool": best_ours,
            "passthrough": best_pass,
            "ratio": round(best_ours["per_second"] / best_pass["per_second"], 2),
        }
    result["rounds"] = {"hypertool": ours, "passthrough": passthrough}
    return result


if __name__ == "__main__":
    profiles = {signal: profile(signal) for signal in SIGNALS}
    print(json.dumps({**run(), "profile_percent": profiles}, indent=2))
