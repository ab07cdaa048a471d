"""docker compose up, a workflow in, the right numbers out: where a Docker engine exists."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PrometheusClient

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]


def docker_engine_problem() -> str | None:
    """Why compose cannot run here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    done = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],  # noqa: S607 - the user's docker
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["docker info failed"])[-1]
        return f"no Docker engine reachable: {reason}"
    return None


@pytest.fixture(scope="module")
def compose_stack() -> Iterator[PrometheusClient]:
    """The compose stack, up and healthy, torn down with its volumes afterwards."""
    problem = docker_engine_problem()
    if problem is not None:
        pytest.skip(
            f"{problem}: the native end-to-end tests cover this machine; this test runs in "
            ".github/workflows/compose.yml on a runner with Docker"
        )
    from testcontainers.compose import DockerCompose

    compose = DockerCompose(str(ROOT), compose_file_name="docker-compose.yml", wait=True)
    with compose:
        prometheus = PrometheusClient("http://127.0.0.1:9090")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                prometheus.query("up")
                break
            except OSError:
                time.sleep(1)
        yield prometheus


def test_compose_stack_counts_a_demo_run(compose_stack: PrometheusClient) -> None:
    """The demo's 2050 tokens arrive in the compose stack's Prometheus, split per persona."""
    subprocess.run(
        [sys.executable, "-m", "hypertool_agent._cli", "demo", "--stage-seconds", "0.05"],
        env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"},
        check=True,
        timeout=60,
    )
    result = compose_stack.wait_for(
        "sum(hypertool_persona_tokens_used_total)",
        lambda r: bool(r) and r[0].value == 2050,
        timeout=90,
    )
    assert result[0].value == 2050
    per_persona = compose_stack.query("sum by (persona) (hypertool_persona_tokens_used_total)")
    assert {s.labels["persona"]: s.value for s in per_persona} == {
        "backend-engineer": 850.0,
        "testing-specialist": 650.0,
        "devops-engineer": 550.0,
    }
