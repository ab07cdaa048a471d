"""Gemini CLI, run for real and headless (``gemini -p``) against the fake Gemini API.

The pinned version is in ``gemini-cli.version`` beside this file, the one place it is
set: ``ensure_gemini_cli`` (scripts/lib/coding-agents.sh) installs that version from npm
into ``${HYPERTOOL_CACHE:-~/.cache/hypertool}/npm/gemini-cli-<version>/`` and
:func:`binary` finds it there.

Gemini CLI sends its usage three times over: the ``gemini_cli.token.usage`` counter (by
``type``: input, output, cache, thought, tool), the ``gen_ai.client.token.usage``
histogram (input and output only) and the ``gemini_cli.api_response`` log record, one per
call; with traces on, each ``llm_call`` span carries ``gen_ai.usage.*`` too.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.producers import NpmCli, clean_env, otel_env, run_checked

CLI = NpmCli("gemini-cli", "gemini", "ensure_gemini_cli")
version, install_dir, binary = CLI.version, CLI.install_dir, CLI.binary
VERSION_FILE = CLI.version_file
INSTALL_HINT = CLI.install_hint
#: Bound on one headless run; a run against the fake API takes two to five seconds.
RUN_TIMEOUT = 90.0
#: A named model: "auto" (the default) first asks a classifier model to route the prompt,
#: one more call, to another model, per prompt.
MODEL = "gemini-2.5-flash"


@dataclass(frozen=True)
class Run:
    """What one ``gemini -p --output-format json`` run said about itself."""

    #: The ``session.id`` its telemetry carries.
    session_id: str
    #: Its own token counts per model (``stats.models.<model>.tokens``): prompt (cached
    #: included), candidates, cached, thoughts, tool, total.
    model_tokens: dict[str, dict[str, int]]


def user_settings() -> dict[str, object]:
    """settings.json without telemetry: API-key auth, no usage statistics, no updates."""
    return {
        # With GOOGLE_GEMINI_BASE_URL set and no auth chosen, Gemini CLI picks a
        # "gateway" auth that headless mode then rejects.
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    }


def _settings(*, otlp_endpoint: str, protocol: str, traces: bool) -> dict[str, object]:
    """settings.json: :func:`user_settings`, and telemetry to ``otlp_endpoint``."""
    return user_settings() | {
        "telemetry": {
            "enabled": True,
            "target": "local",
            "otlpEndpoint": otlp_endpoint,
            "otlpProtocol": protocol,
            "traces": traces,
            "logPrompts": False,
        },
    }


def environment(
    *,
    home: Path,
    base_url: str,
    otlp_endpoint: str,
    persona: str | None = None,
    user: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    protocol: str = "grpc",
    traces: bool = True,
    temporality: str | None = None,
) -> dict[str, str]:
    """A clean environment for one run, and the settings it reads in ``home/.gemini``.

    Nothing is inherited but PATH. ``user`` becomes ``user.email`` on every metric point
    and log record: Gemini CLI reads it from the cached Google account, whatever the auth.
    Prompts stay out of the telemetry: ``logPrompts`` is off, and only the ``env`` resource
    detector runs, since the ``process`` one would send the command line, prompt included.
    """
    gemini_dir = home / ".gemini"
    gemini_dir.mkdir(parents=True, exist_ok=True)
    settings = _settings(otlp_endpoint=otlp_endpoint, protocol=protocol, traces=traces)
    (gemini_dir / "settings.json").write_text(json.dumps(settings))
    if user:
        accounts = {"active": user, "old": []}
        (gemini_dir / "google_accounts.json").write_text(json.dumps(accounts))
    env = clean_env(home) | {
        "GEMINI_API_KEY": "test-key",
        "GOOGLE_GEMINI_BASE_URL": base_url,
        # Headless runs refuse an untrusted folder; the throwaway HOME is one.
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        "OTEL_NODE_RESOURCE_DETECTORS": "env",
    }
    return env | otel_env(persona, resource_attributes, temporality)


def run(
    gemini: Path,
    *,
    base_url: str,
    otlp_endpoint: str,
    persona: str | None = None,
    user: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    protocol: str = "grpc",
    temporality: str | None = None,
    model: str = MODEL,
    prompt: str = "say ok",
) -> Run:
    """One headless run in a throwaway HOME; it exports its telemetry before it exits."""
    with tempfile.TemporaryDirectory(prefix="gemini-home-") as tmp:
        home = Path(tmp)
        env = environment(
            home=home,
            base_url=base_url,
            otlp_endpoint=otlp_endpoint,
            persona=persona,
            user=user,
            resource_attributes=resource_attributes,
            protocol=protocol,
            temporality=temporality,
        )
        completed = run_checked(
            [str(gemini), "--model", model, "--output-format", "json", "--prompt", prompt],
            env=env,
            cwd=home,
            timeout=RUN_TIMEOUT,
        )
    result = json.loads(completed.stdout)
    if result.get("error"):
        raise RuntimeError(f"gemini -p reported an error: {completed.stdout[-2000:]}")
    models = (result.get("stats") or {}).get("models") or {}
    tokens = {name: dict(stats.get("tokens") or {}) for name, stats in models.items()}
    return Run(str(result.get("session_id") or ""), tokens)
