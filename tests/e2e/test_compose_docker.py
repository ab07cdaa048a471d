"""docker compose up, a workflow in, the right numbers out: where a Docker engine exists."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LOOPBACK, PrometheusClient

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


#: Where Grafana reads the admin password that the grafana-password service generates.
PASSWORD_FILE = "/run/secrets/hypertool/grafana-admin-password"


@dataclass
class ComposeStack:
    """The running compose project, its Prometheus and Grafana's admin password."""

    compose: Any  # testcontainers.compose.DockerCompose (untyped)
    prometheus: PrometheusClient
    grafana_password: str


def read_grafana_password(compose: Any) -> str:  # noqa: ANN401 - DockerCompose is untyped
    """The password as the README says to read it: `docker compose exec grafana cat ...`."""
    stdout, stderr, code = compose.exec_in_container(["cat", PASSWORD_FILE], "grafana")
    assert code == 0, stderr
    return str(stdout)


@pytest.fixture(scope="module")
def compose_stack() -> Iterator[ComposeStack]:
    """The compose stack, up and healthy, torn down with its volumes afterwards.

    No password is set: `docker compose up` alone must work, generating Grafana's.
    """
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
        yield ComposeStack(compose, prometheus, read_grafana_password(compose))


def test_compose_stack_counts_a_demo_run(compose_stack: ComposeStack) -> None:
    """The demo's 2050 tokens arrive in the compose stack's Prometheus, split per persona."""
    subprocess.run(
        [sys.executable, "-m", "hypertool_tools.cli", "demo", "--stage-seconds", "0.05"],
        env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"},
        check=True,
        timeout=60,
    )
    prometheus = compose_stack.prometheus
    result = prometheus.wait_for(
        "sum(hypertool_persona_tokens_used_total)",
        lambda r: bool(r) and r[0].value == 2050,
        timeout=90,
    )
    assert result[0].value == 2050
    per_persona = prometheus.query("sum by (persona) (hypertool_persona_tokens_used_total)")
    assert {s.labels["persona"]: s.value for s in per_persona} == {
        "backend-engineer": 850.0,
        "testing-specialist": 650.0,
        "devops-engineer": 550.0,
    }


def test_grafana_password_is_generated_and_its_location_logged(
    compose_stack: ComposeStack,
) -> None:
    """A random password, readable the two ways the init service's log names."""
    password = compose_stack.grafana_password
    if not os.environ.get("GRAFANA_ADMIN_PASSWORD"):
        assert re.fullmatch(r"[0-9a-f]{32}", password), password
    stdout, _ = compose_stack.compose.get_logs("grafana-password")
    assert f"docker compose exec grafana cat {PASSWORD_FILE}" in stdout
    again = subprocess.run(
        [
            *compose_stack.compose.docker_compose_command(),
            "run",
            "--rm",
            "-T",
            "grafana-password",
            "cat /secrets/grafana-admin-password",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert again.stdout == password


def grafana(stack: ComposeStack, path: str) -> Any:  # noqa: ANN401 - JSON from Grafana
    """GET a Grafana API path as the admin."""
    request = urllib.request.Request(f"http://127.0.0.1:3000{path}")
    token = base64.b64encode(f"admin:{stack.grafana_password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with LOOPBACK.open(request, timeout=30) as response:
        return json.load(response)


def test_grafana_provisions_dashboards_and_healthy_datasources(
    compose_stack: ComposeStack,
) -> None:
    """The three dashboards are provisioned and every datasource answers its health check."""
    titles = {d["title"] for d in grafana(compose_stack, "/api/search?tag=hypertool")}
    assert titles == {
        "hypertool / Persona overview",
        "hypertool / Workflow performance",
        "hypertool / Budgets and cost",
    }
    for datasource in grafana(compose_stack, "/api/datasources"):
        health = grafana(compose_stack, f"/api/datasources/uid/{datasource['uid']}/health")
        assert health["status"] == "OK", (datasource["uid"], health)


def test_grafana_refuses_anonymous_access(compose_stack: ComposeStack) -> None:
    """Without credentials, Grafana's API answers 401."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        LOOPBACK.open("http://127.0.0.1:3000/api/search", timeout=30)
    assert refused.value.code == 401
