"""What producers we do not write lose when the collector restarts, with their own SDK retries.

Issue 20's restart scenario, run with foreign producers in place of the library: 20
short-lived processes start one every half second, the collector is killed with SIGKILL
right after the 10th starts and started again to be healthy about 2.7 s after the kill,
and each producer keeps only what its own OpenTelemetry SDK does about a refused export
(no spool of ours). On a loaded machine the collector's start alone takes longer than
that: the outage is measured and reported (to healthy, and to the OTLP port open).

- ``openai_sdk_delta`` and ``openai_sdk_cumulative``: the ``openai`` SDK app under
  ``opentelemetry-instrument`` with OpenLLMetry (tests/producers/openai_app.py), 10 calls
  of 100 tokens over about 2 s, metric export every 500 ms, OTLP gRPC; once with delta
  temporality and once with the SDK's default, cumulative. Each process is started ahead
  and held at a gate until its turn (see ``GATED_APP``), so that interpreter start-up
  does not push its calls past the outage.
- ``claude_code``: ``claude -p`` (one request of 1,000 tokens, cached ones included), its
  default delta temporality, metric export every 500 ms, OTLP gRPC.

The truth is what the fake provider reported as usage, per process (one fake each); the
count is what Prometheus shows once it has stopped changing. Each process has a persona of
its own, so the loss can be put on the runs that overlapped the outage. The SDKs' own words
about failed exports (their stderr) are summarised, to say what each did: retry, give up,
or drop at exit::

    .venv/bin/python -m bench.restart_foreign     # about 6 minutes on 2 cores
"""

from __future__ import annotations

import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, PrometheusClient, running_stack
from tests.fakes.llm_api import Call, FakeLLM, Ledger
from tests.producers import claude_code, genai_python

RUNS = 20
#: The collector is killed right after this many processes have started.
KILL_AFTER = 10
START_EVERY_SECONDS = 0.5
#: From the SIGKILL to the collector healthy again, as in the issue's measurement.
OUTAGE_SECONDS = 2.7
EXPORT_INTERVAL_MS = "500"
#: The openai app: 10 calls of 60 + 40 tokens, 0.2 s apart (about 2 s, 1,000 tokens).
OPENAI_CALLS = 10
OPENAI_PAUSE_SECONDS = 0.2
OPENAI_USAGE = (60, 40, 0, 0)
#: Claude Code: one request; input, output, cache read, cache creation (1,000 tokens).
CLAUDE_USAGE = (300, 100, 500, 100)
#: Bound on one process; an OpenTelemetry Python SDK exiting while the collector is down
#: retries its last exports for up to twice its 10 s export timeout.
PROCESS_TIMEOUT = 120.0
#: The count is final once it has not changed for this long (ten scrapes)...
SETTLE_SECONDS = 10.0
#: ...or after this long, whichever comes first.
SETTLE_TIMEOUT = 90.0

TOKENS = c.TOKENS_USED.prometheus_name
JOB = f'job="{c.JOB_COLLECTOR_EXPORTER}"'
#: Numbers (ports, durations, counts) vary between lines that say the same thing.
_NUMBER = re.compile(r"\d+(\.\d+)?")
#: The message of one of Claude Code's OpenTelemetry diagnostics (JSON on a stderr line).
_DIAG_MESSAGE = re.compile(r'"message":"((?:[^"\\]|\\.)*)"')

#: The arguments, environment and working directory of one process of a producer.
Launch = tuple[list[str], dict[str, str], Path | None]

#: The openai app behind a gate. An interpreter with openai and the instrumentation takes
#: seconds of CPU to start (longer on a loaded machine), which would push every process's
#: calls past the outage. So each process starts, imports openai, says it is ready and
#: waits for its go; then the app runs unchanged, under the same SDK, from its go on.
GATED_APP = """
import os, runpy, sys, time
import openai  # what the app imports first: paid before the gate
app, go = os.environ["RESTART_BENCH_APP"], os.environ["RESTART_BENCH_GO"]
open(os.environ["RESTART_BENCH_READY"], "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
sys.argv = [app, *sys.argv[1:]]
runpy.run_path(app, run_name="__main__")
"""


@dataclass(frozen=True)
class Producer:
    """A foreign producer: how to start one process and the usage its provider reports."""

    name: str
    #: Input, output, cache read and cache creation tokens per call.
    usage: tuple[int, int, int, int]
    #: (fake provider URL, OTLP endpoint, persona, scratch folder) -> how to start it.
    launch: Callable[[str, str, str, Path], Launch]
    #: Started ahead and let go on schedule (``scratch/ready``, then ``scratch/go``).
    gated: bool = False


@dataclass(frozen=True)
class Finished:
    """One process: when it ran (seconds from the kill), its exit, stderr and its truth."""

    persona: str
    started: float
    ended: float
    returncode: int
    stderr: str
    sent: int
    #: When the fake provider answered its first and last call (seconds from the kill).
    calls_at: tuple[float, float] | None


@dataclass
class TimedLedger(Ledger):
    """The fake provider's ledger, with the moment each call was answered."""

    times: list[float] = field(default_factory=list)

    def add(self, call: Call) -> None:
        """Record one answered call, and when."""
        with self.lock:
            self.calls.append(call)
            self.times.append(time.monotonic())


def _openai(temporality: str) -> Callable[[str, str, str, Path], Launch]:
    """How to start the gated openai app exporting with ``temporality``."""

    def launch(url: str, endpoint: str, persona: str, scratch: Path) -> Launch:
        env = genai_python.app_env(
            base_url=url,
            otlp_endpoint=endpoint,
            service_name="restart-foreign",
            persona=persona,
            temporality=temporality,
            OTEL_METRIC_EXPORT_INTERVAL=EXPORT_INTERVAL_MS,
        )
        env |= {
            "RESTART_BENCH_APP": str(genai_python.APP),
            "RESTART_BENCH_READY": str(scratch / "ready"),
            "RESTART_BENCH_GO": str(scratch / "go"),
        }
        instrument, python, _app = genai_python.app_command()
        args = ["--calls", str(OPENAI_CALLS), "--pause", str(OPENAI_PAUSE_SECONDS)]
        return [instrument, python, "-c", GATED_APP, *args], env, None

    return launch


def _claude(url: str, endpoint: str, persona: str, scratch: Path) -> Launch:
    """How to start one ``claude -p`` in a throwaway HOME, as tests/e2e/test_claude_code.py."""
    home = scratch / "home"
    home.mkdir()
    env = claude_code.environment(
        home=home,
        base_url=url,
        otlp_endpoint=endpoint,
        resource_attributes={n.ATTR_PERSONA: persona, n.ATTR_CHATMODE: "claude-code"},
    )
    env |= {
        "OTEL_METRIC_EXPORT_INTERVAL": EXPORT_INTERVAL_MS,
        # Its OpenTelemetry diagnostics on stderr: how we see what its exporter did.
        "CLAUDE_CODE_OTEL_DIAG_STDERR": "1",
        "OTEL_LOG_LEVEL": "debug",
    }
    argv = [str(claude_code.binary()), "-p", "--output-format", "json", "say ok"]
    return argv, env, home


PRODUCERS = (
    Producer("openai_sdk_delta", OPENAI_USAGE, _openai("delta"), gated=True),
    Producer("openai_sdk_cumulative", OPENAI_USAGE, _openai("cumulative"), gated=True),
    Producer("claude_code", CLAUDE_USAGE, _claude),
)


class Outage:
    """The collector SIGKILLed and started again, ``OUTAGE_SECONDS`` from kill to healthy."""

    def __init__(self, native: NativeStack) -> None:
        """Measure how long the collector takes to start, so the outage can be sized."""
        self.native = native
        begin = time.monotonic()
        native.stack.crash("collector")
        native.stack.up()
        # Measured without traffic: the time up() needs, taken off the sleep below.
        self.startup = time.monotonic() - begin
        self.killed = self.back = self.listening = 0.0

    def __call__(self) -> None:
        """Kill, stay down, start again; the times are kept for the overlap."""
        self.killed = time.monotonic()
        self.native.stack.crash("collector")
        probe = threading.Thread(target=self._probe, daemon=True)
        probe.start()
        time.sleep(max(OUTAGE_SECONDS - self.startup, 0.0))
        self.native.stack.up()
        self.back = time.monotonic()
        probe.join()

    def _probe(self) -> None:
        """When the OTLP port accepts connections again: the outage as producers see it."""
        while time.monotonic() < self.killed + PROCESS_TIMEOUT:
            try:
                socket.create_connection(
                    ("127.0.0.1", self.native.stack.ports.otlp_grpc), 1
                ).close()
            except OSError:
                time.sleep(0.02)
                continue
            self.listening = time.monotonic()
            return


def _messages(stderr: str) -> set[str]:
    """The distinct things a process said on stderr, numbers blanked, one per line."""
    said = set()
    for line in stderr.splitlines():
        # Claude Code's diagnostics are JSON with a stack trace: their message is the news.
        diag = _DIAG_MESSAGE.search(line)
        text = diag.group(1) if diag else line.strip()
        if text:
            said.add(_NUMBER.sub("N", text)[:200])
    return said


def _settled(prometheus: PrometheusClient, prefix: str) -> dict[str, float]:
    """Tokens per persona once Prometheus has stopped changing (or the timeout passed)."""
    promql = f'sum by ({n.PERSONA}) ({TOKENS}{{{JOB},{n.PERSONA}=~"{prefix}-.*"}})'
    deadline = time.monotonic() + SETTLE_TIMEOUT
    last: dict[str, float] | None = None
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        got = {s.labels[n.PERSONA]: s.value for s in prometheus.query(promql)}
        if got != last:
            last, stable_since = got, time.monotonic()
        elif time.monotonic() - stable_since >= SETTLE_SECONDS:
            break
        time.sleep(0.5)
    return last or {}


def _persona(producer: Producer, index: int) -> str:
    """The persona of one process: the loss can then be put on the runs it hit."""
    return f"{_prefix(producer)}-{index:02d}"


def _prefix(producer: Producer) -> str:
    return producer.name.replace("_", "-")


def _wait_ready(process: subprocess.Popen[str], ready: Path) -> None:
    """Until a gated process says it is ready; raise if it exits or takes too long."""
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, stderr = process.communicate()
            raise RuntimeError(f"a gated producer never got ready: {stderr[-2000:]}")
        time.sleep(0.05)


def _run_processes(
    native: NativeStack, producer: Producer, scratch: Path
) -> tuple[list[Finished], Outage]:
    """Start the processes on schedule, kill the collector after the 10th; wait for all."""
    outage = Outage(native)
    tenth_started = threading.Event()
    begin: list[float] = []
    # Everyone ready (gated processes waiting at their gate) before the schedule's zero.
    all_ready = threading.Barrier(RUNS, action=lambda: begin.append(time.monotonic()))
    ledgers = [TimedLedger() for _ in range(RUNS)]
    input_tokens, output_tokens, cache_read, cache_creation = producer.usage
    with ExitStack() as stack:
        # One fake provider per process: its ledger is that process's truth.
        llms = [
            stack.enter_context(
                FakeLLM(
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    cache_read_tokens=cache_read,
                    cache_creation_tokens=cache_creation,
                )
            )
            for _ in range(RUNS)
        ]
        for llm, ledger in zip(llms, ledgers, strict=True):
            llm.ledger = ledger

        def popen(argv: list[str], env: dict[str, str], cwd: Path | None) -> subprocess.Popen[str]:
            return subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )

        def one(index: int) -> tuple[float, float, int, str]:
            folder = scratch / f"{index:02d}"
            folder.mkdir()
            argv, env, cwd = producer.launch(
                llms[index].url, native.stack.otlp_grpc_endpoint, _persona(producer, index), folder
            )
            process = popen(argv, env, cwd) if producer.gated else None
            try:
                if process is not None:
                    _wait_ready(process, folder / "ready")
                all_ready.wait(timeout=PROCESS_TIMEOUT * 2)
            except BaseException:
                # No schedule without everyone: the others stop waiting, this one is ended.
                all_ready.abort()
                if process is not None:
                    process.kill()
                    process.communicate()
                raise
            time.sleep(max(begin[0] + index * START_EVERY_SECONDS - time.monotonic(), 0.0))
            if process is None:
                process = popen(argv, env, cwd)
            else:
                (folder / "go").touch()
            started = time.monotonic()
            if index == KILL_AFTER - 1:
                tenth_started.set()
            try:
                _, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                _, stderr = process.communicate()
            return started, time.monotonic(), process.returncode, stderr

        with ThreadPoolExecutor(RUNS) as pool:
            futures = [pool.submit(one, i) for i in range(RUNS)]
            while not tenth_started.wait(0.5):
                # A producer that failed before the schedule began: its error, not a hang.
                for future in futures:
                    if future.done() and future.exception() is not None:
                        future.result()
            outage()
            done = [f.result() for f in futures]

    def since_kill(t: float) -> float:
        return round(t - outage.killed, 2)

    finished = [
        Finished(
            persona=_persona(producer, index),
            started=since_kill(started),
            ended=since_kill(ended),
            returncode=returncode,
            stderr=stderr,
            sent=ledger.total_tokens(),
            calls_at=(
                (since_kill(ledger.times[0]), since_kill(ledger.times[-1]))
                if ledger.times
                else None
            ),
        )
        for index, ((started, ended, returncode, stderr), ledger) in enumerate(
            zip(done, ledgers, strict=True)
        )
    ]
    return finished, outage


def scenario(producer: Producer) -> dict[str, Any]:
    """One producer through the restart, on a stack of its own: sent, counted, lost, why."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        native = stack.enter_context(running_stack(tmp / "stack", "1s"))
        finished, timing = _run_processes(native, producer, tmp)
        counted = _settled(native.prometheus, _prefix(producer))
    outage = timing.back - timing.killed
    # Overlapping: alive at some moment between the kill and the collector healthy again.
    overlapping = [f for f in finished if f.started < outage and f.ended > 0]
    others = [f for f in finished if f not in overlapping]
    sent = sum(f.sent for f in finished)
    lost = sum(max(f.sent - counted.get(f.persona, 0.0), 0.0) for f in finished)
    said: Counter[str] = Counter()
    for f in finished:
        said.update(_messages(f.stderr))
    return {
        "runs": len(finished),
        "runs_exited_0": sum(f.returncode == 0 for f in finished),
        "runs_overlapping_outage": len(overlapping),
        "runs_ended_during_outage": sum(0 < f.ended < outage for f in finished),
        "outage_seconds": round(outage, 2),
        "otlp_port_refused_seconds": round(timing.listening - timing.killed, 2),
        "collector_startup_seconds": round(timing.startup, 2),
        "tokens_sent": sent,
        "tokens_counted": sum(counted.values()),
        "tokens_lost": lost,
        "lost_percent": round(100 * lost / sent, 1) if sent else 0.0,
        "counted_beyond_sent": sum(
            max(counted.get(f.persona, 0.0) - f.sent, 0.0) for f in finished
        ),
        "lost_in_overlapping_runs": sum(
            max(f.sent - counted.get(f.persona, 0.0), 0.0) for f in overlapping
        ),
        "seconds_per_run": {
            "overlapping_median": _median([f.ended - f.started for f in overlapping]),
            "overlapping_max": round(max((f.ended - f.started for f in overlapping), default=0), 2),
            "others_median": _median([f.ended - f.started for f in others]),
        },
        # What the runs said on stderr, numbers blanked: message -> how many runs said it.
        "stderr_messages": dict(said.most_common(12)),
        # Times in seconds from the SIGKILL; the collector was healthy again at outage_seconds.
        "per_run": [
            {
                "persona": f.persona,
                "started": f.started,
                "ended": f.ended,
                "exit": f.returncode,
                "calls_at": f.calls_at,
                "sent": f.sent,
                "counted": counted.get(f.persona, 0.0),
                "said": sorted(m[:100] for m in _messages(f.stderr)),
            }
            for f in finished
        ],
    }


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2) if values else 0.0


def _missing() -> list[str]:
    """Why a producer cannot run here, with the fix; empty when all can."""
    why = [genai_python.missing()]
    if not claude_code.binary().is_file():
        why.append(f"{claude_code.binary()} is missing: {claude_code.INSTALL_HINT}")
    return [w for w in why if w]


def run(only: Sequence[str] = ()) -> dict[str, Any]:
    """Every foreign producer (or those named in ``only``) through the restart, one stack each."""
    missing = _missing()
    if missing:
        raise RuntimeError("; ".join(missing))
    return {
        "scenario": {
            "runs": RUNS,
            "kill_after_started": KILL_AFTER,
            "start_every_seconds": START_EVERY_SECONDS,
            "outage_seconds_target": OUTAGE_SECONDS,
            "metric_export_interval_ms": int(EXPORT_INTERVAL_MS),
            "scrape_interval": "1s",
        },
        **{p.name: scenario(p) for p in PRODUCERS if not only or p.name in only},
    }


if __name__ == "__main__":
    import json
    import sys

    # Producer names as arguments run only those.
    print(json.dumps(run(sys.argv[1:]), indent=2))
