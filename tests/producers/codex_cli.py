"""Codex CLI, run for real and headless (``codex exec``) against a fake Responses API.

The pinned version is in ``codex.version`` beside this file, the one place it is set:
``ensure_codex`` (scripts/lib/coding-agents.sh) installs that version from npm into
``${HYPERTOOL_CACHE:-~/.cache/hypertool}/npm/codex-<version>/`` and :func:`binary` finds
it there.

Codex reads its telemetry settings from ``$CODEX_HOME/config.toml`` (the ``[otel]``
table), not from ``OTEL_EXPORTER_*``; it honours ``OTEL_RESOURCE_ATTRIBUTES`` (but sets
``service.name`` to its originator, ``codex_exec``), ``OTEL_METRIC_EXPORT_INTERVAL`` and
``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` (delta unless told). It exports
its logs, spans and metrics when ``codex exec`` ends.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.producers import NpmCli, clean_env, otel_env, run_checked

CLI = NpmCli("codex", "codex", "ensure_codex")
version, install_dir, binary = CLI.version, CLI.install_dir, CLI.binary
VERSION_FILE = CLI.version_file
INSTALL_HINT = CLI.install_hint
#: Bound on one headless run; a run against the fake API takes under a second.
RUN_TIMEOUT = 90.0
#: A model Codex knows the metadata of (others run on fallback metadata, with a warning).
MODEL = "gpt-5.5"
#: The provider entry the config adds, and the variable holding its API key.
PROVIDER = "fake"
API_KEY_VARIABLE = "FAKE_API_KEY"


@dataclass(frozen=True)
class Run:
    """What one ``codex exec --json`` run said about itself."""

    #: The thread (Codex's ``conversation.id`` in its telemetry).
    thread_id: str
    #: Codex's own usage, summed over turns: input_tokens (cached included),
    #: cached_input_tokens, cache_write_input_tokens, output_tokens (reasoning included),
    #: reasoning_output_tokens.
    usage: dict[str, int]


def config(
    *,
    base_url: str,
    otlp_endpoint: str | None,
    log_user_prompt: bool = False,
) -> str:
    """``config.toml``: the fake provider (Responses API) and every signal to OTLP gRPC.

    Each exporter is named: left out, the metrics exporter defaults to OpenAI's own
    (Statsig) endpoint. ``log_user_prompt`` stays off, so ``codex.user_prompt`` events
    carry ``[REDACTED]``, not the prompt. ``otlp_endpoint`` None: no ``[otel]`` table,
    the user's settings before they turn telemetry on.
    """
    text = f"""\
model = "{MODEL}"
model_provider = "{PROVIDER}"
check_for_update_on_startup = false

[model_providers.{PROVIDER}]
name = "{PROVIDER}"
base_url = "{base_url}/v1"
env_key = "{API_KEY_VARIABLE}"
wire_api = "responses"

[analytics]
enabled = false

[features]
# The ChatGPT apps connector (an MCP server at chatgpt.com) starts with a ChatGPT login.
apps = false
"""
    if otlp_endpoint is None:
        return text
    exporter = f'{{ otlp-grpc = {{ endpoint = "{otlp_endpoint}" }} }}'
    return (
        text
        + f"""
[otel]
environment = "test"
log_user_prompt = {"true" if log_user_prompt else "false"}
exporter = {exporter}
trace_exporter = {exporter}
metrics_exporter = {exporter}
"""
    )


def chatgpt_login(email: str) -> dict[str, object]:
    """An ``auth.json`` as a ChatGPT login leaves it, for ``email`` (unsigned tokens).

    Codex puts the login's email and account in ``user.email`` and ``user.account_id``
    on each of its log events, its only user identity; an API key leaves them out.
    Requests still go to the fake provider with its API key; nothing checks the tokens.
    """
    account = "acct-" + email.split("@", 1)[0]
    now = int(time.time())
    claims = {
        "email": email,
        "exp": now + 30 * 86400,
        "iat": now,
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": "plus",
            "chatgpt_account_id": account,
            "chatgpt_user_id": "user-" + account,
        },
    }
    token = ".".join((_b64({"alg": "none", "typ": "JWT"}), _b64(claims), "c2ln"))
    return {
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": token,
            "access_token": token,
            "refresh_token": "fake-refresh-token",
            "account_id": account,
        },
        # Fresh, so Codex does not try to refresh it at auth.openai.com.
        "last_refresh": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }


def _b64(value: Mapping[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def environment(
    *,
    home: Path,
    base_url: str,
    otlp_endpoint: str,
    persona: str | None = None,
    user: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    temporality: str | None = None,
    log_user_prompt: bool = False,
) -> dict[str, str]:
    """Lay out ``CODEX_HOME`` in ``home`` and return a clean environment for one run.

    ``persona`` names the run's persona (``hypertool.persona.name`` on the resource);
    ``user``, an email, logs the run in as that ChatGPT user (:func:`chatgpt_login`).
    Nothing is inherited but PATH, so no OTEL_*, proxy or OpenAI setting of the machine
    leaks in.
    """
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    settings = config(
        base_url=base_url, otlp_endpoint=otlp_endpoint, log_user_prompt=log_user_prompt
    )
    (codex_home / "config.toml").write_text(settings)
    if user:
        (codex_home / "auth.json").write_text(json.dumps(chatgpt_login(user)))
    env = clean_env(home) | {
        "CODEX_HOME": str(codex_home),
        API_KEY_VARIABLE: "test-key",
    }
    return env | otel_env(persona, resource_attributes, temporality)


def run(
    codex: Path,
    *,
    base_url: str,
    otlp_endpoint: str,
    persona: str | None = None,
    user: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    temporality: str | None = None,
    prompt: str = "say ok",
) -> Run:
    """One headless ``codex exec`` in a throwaway HOME; it exports its telemetry at exit."""
    with tempfile.TemporaryDirectory(prefix="codex-home-") as tmp:
        home = Path(tmp)
        work = home / "work"
        work.mkdir()
        env = environment(
            home=home,
            base_url=base_url,
            otlp_endpoint=otlp_endpoint,
            persona=persona,
            user=user,
            resource_attributes=resource_attributes,
            temporality=temporality,
        )
        completed = run_checked(
            [str(codex), "exec", "--json", "--skip-git-repo-check", prompt],
            env=env,
            cwd=work,
            timeout=RUN_TIMEOUT,
        )
    return parse_events(completed.stdout)


def parse_events(stdout: str) -> Run:
    """The thread and summed usage of ``codex exec --json``'s event lines."""
    thread_id = ""
    usage: Counter[str] = Counter()
    for line in stdout.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        kind = event.get("type")
        if kind == "thread.started":
            thread_id = str(event["thread_id"])
        elif kind == "turn.completed":
            usage.update({k: int(v) for k, v in event.get("usage", {}).items()})
        elif kind == "turn.failed":
            raise RuntimeError(f"codex exec failed a turn: {line}")
    if not usage:
        raise RuntimeError(f"codex exec completed no turn: {stdout[-2000:]}")
    return Run(thread_id, dict(usage))
