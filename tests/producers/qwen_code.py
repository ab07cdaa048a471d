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
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.producers import NpmCli, clean_env, otel_env, run_checked

CLI = NpmCli("qwen-code", "qwen", "ensure_qwen_code")
version, install_dir, binary = CLI.version, CLI.install_dir, CLI.binary
VERSION_FILE = CLI.version_file
INSTALL_HINT = CLI.install_hint
#: Bound on one headless run; a run against the fake API takes three to six seconds.
RUN_TIMEOUT = 90.0
#: The arguments of its ``agent`` tool that run its built-in general-purpose subagent.
SUBAGENT_CALL = {
    "description": "check",
    "prompt": "say ok",
    "subagent_type": "general-purpose",
    "run_in_background": False,
}
#: The model asked for through the OpenAI-compatible API (any name: the fake echoes it).
MODEL = "qwen3-coder-plus"


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
    env = clean_env(home) | {
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
    return env | otel_env(persona, resource_attributes, temporality)


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
    approval_mode: str | None = None,
) -> Run:
    """One headless run in a throwaway HOME; it exports its telemetry before it exits.

    Headless, its default approval (``auto``) declines its ``agent`` tool; ``yolo`` lets
    it call a subagent.
    """
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
            [
                str(qwen),
                "--output-format",
                "json",
                *(("--approval-mode", approval_mode) if approval_mode else ()),
                prompt,
            ],
            env=env,
            cwd=home,
            timeout=RUN_TIMEOUT,
        )
    result = _result(completed.stdout)
    models = (result.get("stats") or {}).get("models") or {}
    tokens = {name: dict(stats.get("tokens") or {}) for name, stats in models.items()}
    return Run(str(result.get("session_id") or ""), tokens)
