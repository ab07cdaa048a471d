"""OpenCode, run for real and headless (``opencode run``) against a fake OpenAI chat API.

The pinned version is in ``opencode.version`` beside this file, the one place it is set:
``ensure_opencode`` (scripts/lib/coding-agents.sh) installs that version from npm into
``${HYPERTOOL_CACHE:-~/.cache/hypertool}/npm/opencode-<version>/`` and :func:`binary`
finds it there.

OpenCode exports spans and logs (no metrics) over OTLP/HTTP with JSON bodies to
``$OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces`` and ``/v1/logs``; the usage is on the AI SDK's
spans (``ai.streamText*``), which it makes only with ``experimental.openTelemetry`` on.
Its batch span processor is never flushed at exit, and a standalone ``opencode run``
exits before the answer's spans leave, so a run here is ``opencode run --attach`` to an
``opencode serve`` that is stopped only once its spans are exported.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.producers import NpmCli, clean_env, otel_env, run_checked

CLI = NpmCli("opencode", "opencode", "ensure_opencode")
version, install_dir, binary = CLI.version, CLI.install_dir, CLI.binary
VERSION_FILE = CLI.version_file
INSTALL_HINT = CLI.install_hint
#: Bound on one headless run; a run against the fake API takes a few seconds.
RUN_TIMEOUT = 90.0
#: Bound on the server's start (a few seconds).
SERVE_TIMEOUT = 60.0
#: The server's span batch delay (OTEL_BSP_SCHEDULE_DELAY, 5 s by default), and how long
#: it is kept up after the answer: several delays, its logs' 1 s interval, and the export.
SPAN_DELAY_MS = 200
FLUSH_SECONDS = 2.5
#: The provider entry the config adds, and its one model.
PROVIDER = "fake"
MODEL = "fake-model"


@dataclass(frozen=True)
class Run:
    """What the server's session said about one run."""

    session_id: str
    #: OpenCode's own usage of the session's turns: input (uncached), output, reasoning,
    #: cache_read, cache_write. The title it asks the model for is not counted in it.
    tokens: dict[str, int]


def config(*, base_url: str, user: str | None = None) -> dict[str, Any]:
    """``opencode.json``: the fake provider, OpenAI-compatible, and the AI SDK's spans on.

    ``username`` is what OpenCode sends as ``ai.telemetry.metadata.userId``. The AI SDK
    spans carry the prompt and the answer (``ai.prompt*``, ``ai.response.text``):
    OpenCode has no switch to leave them out but ``experimental.openTelemetry`` itself.
    """
    settings: dict[str, Any] = {
        "$schema": "https://opencode.ai/config.json",
        "model": f"{PROVIDER}/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
        "experimental": {"openTelemetry": True},
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": PROVIDER,
                "options": {"baseURL": f"{base_url}/v1", "apiKey": "test-key"},
                "models": {MODEL: {"name": MODEL}},
            }
        },
    }
    if user:
        settings["username"] = user
    return settings


def environment(
    *,
    home: Path,
    base_url: str,
    otlp_endpoint: str,
    persona: str | None = None,
    user: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write the global config into ``home`` and return a clean environment for the server.

    ``otlp_endpoint`` is an OTLP/HTTP base URL (``http://host:4318``: OpenCode speaks no
    gRPC). ``persona`` names the run's persona (``hypertool.persona.name`` on the
    resource); ``user`` is its user name. Nothing is inherited but PATH.
    """
    settings = home / ".config" / "opencode" / "opencode.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(config(base_url=base_url, user=user), indent=2))
    env = clean_env(home) | {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": str(SPAN_DELAY_MS),
        # No plugins, models.dev catalogue, update check, LSP download or sharing.
        "OPENCODE_PURE": "1",
        "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
        "OPENCODE_DISABLE_SHARE": "1",
        # It installs its plugin package into each config folder in the background, and
        # waits for that on SIGTERM: offline, the install fails at once.
        "npm_config_offline": "true",
    }
    return env | otel_env(persona, resource_attributes)


def run(
    opencode: Path,
    *,
    base_url: str,
    otlp_endpoint: str,
    persona: str | None = None,
    user: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    prompt: str = "say ok",
) -> Run:
    """One headless run in a throwaway HOME, its telemetry exported before it returns."""
    with tempfile.TemporaryDirectory(prefix="opencode-home-") as tmp:
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
        )
        with serving(opencode, env=env, cwd=work, log=home / "serve.log") as url:
            # The client exports nothing of its own: the server makes the model calls.
            client = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
            run_checked(
                [str(opencode), "run", "--attach", url, prompt],
                env=client,
                cwd=work,
                timeout=RUN_TIMEOUT,
            )
            result = session_usage(url, work)
            time.sleep(FLUSH_SECONDS)
    return result


@contextmanager
def serving(opencode: Path, *, env: Mapping[str, str], cwd: Path, log: Path) -> Iterator[str]:
    """``opencode serve`` on a free loopback port, its URL; stopped (SIGTERM) after.

    Its output goes to ``log``, a file: a pipe nobody reads would stall it once full.
    """
    port = free_port()
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(opencode), "serve", "--hostname", "127.0.0.1", "--port", str(port)],
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(server, port, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def free_port() -> int:
    """A port the kernel has just found free on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the server accepts connections; raise with its output if it exits first."""
    deadline = time.monotonic() + SERVE_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"opencode serve exited {server.returncode}: {output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"opencode serve did not listen on {port} in {SERVE_TIMEOUT} s")


def session_usage(url: str, work: Path) -> Run:
    """The one session's tokens, summed over its assistant messages, from the server's API."""
    (session,) = get_json(url, "/session", work)
    tokens: Counter[str] = Counter()
    for message in get_json(url, f"/session/{session['id']}/message", work):
        info = message["info"]
        if info.get("role") != "assistant":
            continue
        used = info.get("tokens") or {}
        cache = used.get("cache") or {}
        tokens.update(
            input=used.get("input", 0),
            output=used.get("output", 0),
            reasoning=used.get("reasoning", 0),
            cache_read=cache.get("read", 0),
            cache_write=cache.get("write", 0),
        )
    return Run(str(session["id"]), dict(tokens))


def get_json(url: str, path: str, work: Path) -> Any:  # noqa: ANN401 - JSON of any shape
    """GET one of the server's API paths for the run's directory."""
    query = urllib.parse.urlencode({"directory": str(work)})
    # No proxy: the machine's proxy settings must not reach for loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}{path}?{query}", timeout=10) as response:
        return json.load(response)
