"""Claude Code, run for real and headless (``claude -p``) against a fake Anthropic API.

The pinned version is in ``claude-code.version`` beside this file, the one place it is
set: ``ensure_claude_code`` (scripts/lib/coding-agents.sh) installs that version from npm
into ``${HYPERTOOL_CACHE:-~/.cache/hypertool}/npm/claude-code-<version>/`` and
:func:`binary` finds it there.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.producers import NpmCli, clean_env, run_checked

CLI = NpmCli("claude-code", "claude", "ensure_claude_code")
version, install_dir, binary = CLI.version, CLI.install_dir, CLI.binary
VERSION_FILE = CLI.version_file
INSTALL_HINT = CLI.install_hint
#: Bound on one headless run; a run against the fake API takes about a second.
RUN_TIMEOUT = 90.0


@dataclass(frozen=True)
class Run:
    """What one ``claude -p --output-format json`` run said about itself."""

    #: Claude Code's own cost of the run (``total_cost_usd``).
    cost_usd: float
    #: Claude Code's own usage per model (``modelUsage``): inputTokens, outputTokens, ...
    model_usage: dict[str, dict[str, Any]]


def environment(
    *,
    home: Path,
    base_url: str,
    otlp_endpoint: str,
    resource_attributes: Mapping[str, str] | None = None,
    temporality: str | None = None,
) -> dict[str, str]:
    """A clean environment for one run: telemetry on, OTLP gRPC to ``otlp_endpoint``.

    Nothing is inherited but PATH, so no OTEL_*, proxy or Anthropic setting of the
    machine leaks in; ``HOME`` is a throwaway folder.
    """
    env = clean_env(home) | {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "test-key",
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    if resource_attributes:
        env["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(
            f"{k}={v}" for k, v in resource_attributes.items()
        )
    if temporality:
        env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] = temporality
    return env


def run(
    claude: Path,
    *,
    base_url: str,
    otlp_endpoint: str,
    resource_attributes: Mapping[str, str] | None = None,
    temporality: str | None = None,
    stop_hook_seconds: float = 0.0,
    prompt: str = "say ok",
) -> Run:
    """One headless run in a throwaway HOME; it exports its telemetry before it exits.

    ``stop_hook_seconds`` keeps the process alive that long after the answer, through a
    ``Stop`` hook in its settings: the periodic reader (1 s) then exports the same totals
    several times before the export at exit.
    """
    with tempfile.TemporaryDirectory(prefix="claude-home-") as tmp:
        home = Path(tmp)
        if stop_hook_seconds > 0:
            hook = {"type": "command", "command": f"sleep {stop_hook_seconds}"}
            settings = {"hooks": {"Stop": [{"hooks": [hook]}]}}
            (home / ".claude").mkdir()
            (home / ".claude" / "settings.json").write_text(json.dumps(settings))
        env = environment(
            home=home,
            base_url=base_url,
            otlp_endpoint=otlp_endpoint,
            resource_attributes=resource_attributes,
            temporality=temporality,
        )
        completed = run_checked(
            [str(claude), "-p", "--output-format", "json", prompt],
            env=env,
            cwd=home,
            timeout=RUN_TIMEOUT,
        )
    result = json.loads(completed.stdout)
    if result.get("is_error"):
        raise RuntimeError(f"claude -p reported an error: {completed.stdout[-2000:]}")
    return Run(float(result["total_cost_usd"]), dict(result.get("modelUsage") or {}))


def run_parallel(claude: Path, count: int, **options: Any) -> list[Run]:  # noqa: ANN401
    """``count`` runs at once, each with the same options; their results in order."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(run, claude, **options) for _ in range(count)]
        return [f.result() for f in futures]
