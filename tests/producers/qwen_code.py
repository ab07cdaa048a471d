"""Qwen Code, run for real and headless (``qwen "<prompt>"``) against the fake OpenAI API.

The pinned version is in ``qwen-code.version`` beside this file, the one place it is
set: ``ensure_qwen_code`` (scripts/lib/coding-agents.sh) installs that version from npm
into ``${HYPERTOOL_CACHE:-~/.cache/hypertool}/npm/qwen-code-<version>/`` and
:func:`binary` finds it there.

Qwen Code sends its usage twice over: the ``qwen-code.token.usage`` counter (by ``type``:
input, output, cache, thought) and the ``qwen-code.api_response`` log record, one per
call; each ``qwen-code.llm_request`` span carries ``gen_ai.usage.*`` too. After the answer
its memory extractor, a subagent, makes one more call of its own.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypertool_agent import names as n
from tests.producers import run_checked

VERSION_FILE = Path(__file__).with_name("qwen-code.version")
#: How to install it, for failure messages.
INSTALL_HINT = (
    "install it with `bash -c 'source scripts/lib/setup.sh; ensure_qwen_code'`, which needs npm"
)
#: Bound on one headless run; a run against the fake API takes three to six seconds.
RUN_TIMEOUT = 90.0
#: The model asked for through the OpenAI-compatible API (any name: the fake echoes it).
MODEL = "qwen3-coder-plus"


def version() -> str:
    """The pinned version of ``@qwen-code/qwen-code``."""
    return VERSION_FILE.read_text().strip()


def install_dir() -> Path:
    """Where ``ensure_qwen_code`` installs the pinned version."""
    cache = os.environ.get("HYPERTOOL_CACHE") or str(Path.home() / ".cache" / "hypertool")
    return Path(cache) / "npm" / f"qwen-code-{version()}"


def binary() -> Path:
    """The ``qwen`` command of the pinned version (it may not be installed)."""
    return install_dir() / "node_modules" / ".bin" / "qwen"


@dataclass(frozen=True)
class Run:
    """What one ``qwen --output-format json`` run said about itself."""

    #: The ``session.id`` its telemetry carries.
    session_id: str
    #: Its own token counts per model (``stats.models.<model>.tokens``): prompt,
    #: candidates, cached, thoughts, total; the memory extractor's call included.
    model_tokens: dict[str, dict[str, int]]


def user_settings() -> dict[str, object]:
    """settings.json: OpenAI-compatible auth, no usage statistics sent out, no updates."""
    return {
        "security": {"auth": {"selectedType": "openai"}},
        "privacy": {"usageStatisticsEnabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
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
    temporality: str | None = None,
    model: str = MODEL,
) -> dict[str, str]:
    """A clean environment for one run, and the settings it reads in ``home/.qwen``.

    Nothing is inherited but PATH. ``user`` becomes ``gen_ai.user.id`` on its spans (not
    on its metrics or logs); prompts and responses stay out of its logs (``logPrompts``
    off) and of its spans (sensitive span attributes are off by default).
    """
    qwen_dir = home / ".qwen"
    qwen_dir.mkdir(parents=True, exist_ok=True)
    (qwen_dir / "settings.json").write_text(json.dumps(user_settings()))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": f"{base_url}/v1",
        "OPENAI_MODEL": model,
        "QWEN_TELEMETRY_ENABLED": "true",
        "QWEN_TELEMETRY_TARGET": "local",
        "QWEN_TELEMETRY_OTLP_ENDPOINT": otlp_endpoint,
        "QWEN_TELEMETRY_OTLP_PROTOCOL": protocol,
        "QWEN_TELEMETRY_LOG_PROMPTS": "false",
    }
    if user:
        env["QWEN_TELEMETRY_USER_ID"] = user
    attributes = dict(resource_attributes or {})
    if persona:
        attributes[n.ATTR_PERSONA] = persona
    if attributes:
        env["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(f"{k}={v}" for k, v in attributes.items())
    if temporality:
        env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] = temporality
    return env


def _result(stdout: str) -> dict[str, Any]:
    """The ``result`` message of ``--output-format json`` (a list of messages)."""
    messages = json.loads(stdout)
    results = [m for m in messages if isinstance(m, dict) and m.get("type") == "result"]
    if not results or results[-1].get("is_error"):
        raise RuntimeError(f"qwen reported no result or an error: {stdout[-2000:]}")
    return dict(results[-1])


def run(
    qwen: Path,
    *,
    base_url: str,
    otlp_endpoint: str,
    persona: str | None = None,
    user: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    protocol: str = "grpc",
    temporality: str | None = None,
    prompt: str = "say ok",
) -> Run:
    """One headless run in a throwaway HOME; it exports its telemetry before it exits."""
    with tempfile.TemporaryDirectory(prefix="qwen-home-") as tmp:
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
            [str(qwen), "--output-format", "json", prompt],
            env=env,
            cwd=home,
            timeout=RUN_TIMEOUT,
        )
    result = _result(completed.stdout)
    models = (result.get("stats") or {}).get("models") or {}
    tokens = {name: dict(stats.get("tokens") or {}) for name, stats in models.items()}
    return Run(str(result.get("session_id") or ""), tokens)
