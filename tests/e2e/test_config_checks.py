"""The upstream tools' own checks of our config files, with the binaries we run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from hypertool_tools.stack.build import binaries
from hypertool_tools.stack.launcher import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BINS = binaries(ROOT)


def check(*argv: str | Path) -> str:
    """Run a checker; fail the test with its output unless it exits 0."""
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_collector_config_validates() -> None:
    """`otelcol-hypertool validate` accepts the collector config compose mounts."""
    check(BINS.collector, "validate", f"--config={ROOT / 'collector-config/otelcol.yaml'}")


def test_collector_has_exactly_the_manifest_components() -> None:
    """The built binary carries the manifest's components at the pinned version."""
    listing = yaml.safe_load(check(BINS.collector, "components"))
    assert listing["buildinfo"]["version"] == "0.161.0"
    names = {
        c["name"]
        for kind in ("receivers", "processors", "exporters", "connectors", "extensions")
        for c in listing[kind]
    }
    assert names == {
        "otlp",
        "memory_limiter",
        "batch",
        "delta_to_cumulative",
        "transform",
        "prometheus",
        "otlp_grpc",
        "signal_to_metrics",
        "health_check",
    }


def test_promtool_checks_compose_and_native_prometheus_configs(tmp_path: Path) -> None:
    """Promtool accepts prometheus.yml as compose mounts it and as the launcher rewrites it."""
    check(BINS.promtool, "check", "config", ROOT / "prometheus/prometheus.yml")
    native = tmp_path / "prometheus.yml"
    native.write_text(yaml.safe_dump(Stack(ROOT, tmp_path).prometheus_runtime_config()))
    check(BINS.promtool, "check", "config", native)


def test_amtool_checks_alertmanager_config() -> None:
    """Amtool accepts the Alertmanager config."""
    check(BINS.amtool, "check-config", ROOT / "prometheus/alertmanager.yml")


def test_promtool_checks_every_rule_file() -> None:
    """Promtool accepts each rule file compose and the launcher load."""
    for rules in sorted((ROOT / "prometheus/rules").glob("*.yml")):
        check(BINS.promtool, "check", "rules", rules)


def test_promtool_rule_unit_tests_pass() -> None:
    """Every promtool test in prometheus/tests passes (recording rules and alerts)."""
    tests = sorted((ROOT / "prometheus/tests").glob("*_test.yml"))
    assert tests
    out = check(BINS.promtool, "test", "rules", *tests)
    assert "SUCCESS" in out
