"""Shared fixtures: the real native stack, a Prometheus client, and agent subprocesses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

from hypertool_tools.stack.build import binaries
from hypertool_tools.stack.launcher import Ports, Stack

ROOT = Path(__file__).resolve().parent.parent
#: Talks to the stack on loopback directly, whatever HTTP proxy the environment names.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(autouse=True, scope="session")
def _private_spool(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Agents the tests start keep failed exports in the test run's spool, not the user's."""
    os.environ["HYPERTOOL_SPOOL_DIR"] = str(tmp_path_factory.mktemp("spool"))


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports nobody listens on right now."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def free_stack_ports() -> Ports:
    """A Ports with every port free on loopback right now."""
    names = [f.name for f in fields(Ports)]
    return Ports(**dict(zip(names, free_ports(len(names)), strict=True)))


@dataclass
class Sample:
    """One instant-vector element of a Prometheus query result."""

    labels: dict[str, str]
    value: float


class PrometheusClient:
    """The few Prometheus HTTP API calls the tests need."""

    def __init__(self, url: str) -> None:
        """Talk to the Prometheus at ``url``."""
        self.url = url

    def api(self, path: str, **params: str) -> Any:  # noqa: ANN401 - JSON from Prometheus
        """GET an API path and return its ``data``."""
        query = urllib.parse.urlencode(params)
        with LOOPBACK.open(f"{self.url}{path}?{query}", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[Sample]:
        """Evaluate an instant query; vectors and scalars both come back as samples."""
        data = self.api("/api/v1/query", query=promql)
        if data["resultType"] == "scalar":
            return [Sample({}, float(data["result"][1]))]
        return [Sample(r["metric"], float(r["value"][1])) for r in data["result"]]

    def wait_for(
        self,
        promql: str,
        predicate: Callable[[list[Sample]], bool],
        timeout: float = 30.0,
    ) -> list[Sample]:
        """Poll ``promql`` until ``predicate`` holds; return the last result either way."""
        deadline = time.monotonic() + timeout
        result = self.query(promql)
        while not predicate(result) and time.monotonic() < deadline:
            time.sleep(0.25)
            result = self.query(promql)
        return result


@dataclass
class NativeStack:
    """A running stack and what tests need to talk to it."""

    stack: Stack
    prometheus: PrometheusClient

    @property
    def spool_dir(self) -> Path:
        """Where this stack's agents keep what the collector could not take."""
        return self.stack.state_dir / "spool"

    def agent_env(self, **extra: str) -> dict[str, str]:
        """Environment for an agent process that exports to this stack."""
        return {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.stack.otlp_grpc_endpoint,
            "OTEL_SERVICE_NAME": "hypertool-tests",
            # This stack's own: a later stack on the same free port must not get its spool.
            "HYPERTOOL_SPOOL_DIR": str(self.spool_dir),
            **extra,
        }

    def run_python(self, code: str, **env: str) -> None:
        """Run ``code`` in a fresh, short-lived interpreter that exports to this stack."""
        self.run_python_output(code, **env)

    def run_python_output(self, code: str, **env: str) -> str:
        """``run_python``, returning what the program printed."""
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=self.agent_env(**env),
            check=False,
            timeout=60,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-3000:]}"
        return done.stdout.strip()

    def run_demo(self, *args: str) -> dict[str, Any]:
        """Run `hypertool demo --json ARGS` in its own short-lived process; return its truth."""
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "hypertool_tools.cli",
                "demo",
                "--json",
                "--stage-seconds",
                "0.05",
                *args,
            ],
            env=self.agent_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        emitted: dict[str, Any] = json.loads(completed.stdout)
        return emitted


def _require_binaries() -> None:
    bins = binaries(ROOT)
    missing = [
        str(p) for p in (bins.collector, bins.prometheus, bins.alertmanager) if not p.is_file()
    ]
    if missing:
        # Not a skip: the README's test command builds these first, so their absence is a
        # broken set-up that must fail loudly rather than hide the end-to-end tests.
        pytest.fail(f"native binaries missing {missing}; run `hypertool stack build`")


@contextmanager
def running_stack(
    state_dir: Path,
    interval: str | None = "1s",
    **options: Any,  # noqa: ANN401 - Stack fields
) -> Iterator[NativeStack]:
    """A collector + Prometheus + Alertmanager on free ports.

    ``interval`` sets the scrape and rule intervals; None keeps prometheus.yml's (15 s).
    """
    _require_binaries()
    stack = Stack(
        ROOT,
        state_dir=state_dir,
        ports=free_stack_ports(),
        scrape_interval=interval,
        evaluation_interval=interval,
        **options,
    )
    try:
        stack.up()
        yield NativeStack(stack, PrometheusClient(stack.prometheus_url))
    finally:
        stack.down()


@pytest.fixture(scope="module")
def native_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """A fresh stack per test module."""
    with running_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack
