"""The Codex CLI and OpenCode runners' settings and parsing, without running either."""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path

import pytest

from hypertool_agent import names as n
from tests.producers import codex_cli, opencode

FAKE = "http://127.0.0.1:1234"
OTLP = "http://127.0.0.1:4317"


def test_codex_config_names_every_exporter() -> None:
    """All three signals go to our endpoint: left out, metrics would go to OpenAI's Statsig."""
    settings = tomllib.loads(codex_cli.config(base_url=FAKE, otlp_endpoint=OTLP))
    otel = settings["otel"]
    for signal in ("exporter", "trace_exporter", "metrics_exporter"):
        assert otel[signal] == {"otlp-grpc": {"endpoint": OTLP}}
    assert otel["log_user_prompt"] is False
    provider = settings["model_providers"][codex_cli.PROVIDER]
    assert (provider["base_url"], provider["wire_api"]) == (f"{FAKE}/v1", "responses")


def test_codex_environment_names_persona_and_user(tmp_path: Path) -> None:
    """The persona is a resource attribute; the user a ChatGPT login naming their email."""
    env = codex_cli.environment(
        home=tmp_path, base_url=FAKE, otlp_endpoint=OTLP, persona="qa", user="ann@example.com"
    )
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == f"{n.ATTR_PERSONA}=qa"
    assert Path(env["CODEX_HOME"], "config.toml").is_file()
    auth = json.loads(Path(env["CODEX_HOME"], "auth.json").read_text())
    claims = auth["tokens"]["id_token"].split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(claims + "=="))["email"] == "ann@example.com"


def test_codex_events_give_the_summed_usage() -> None:
    """``codex exec --json``: the thread and each turn's usage, summed."""
    turn = {"type": "turn.completed", "usage": {"input_tokens": 140, "output_tokens": 30}}
    lines = [{"type": "thread.started", "thread_id": "t1"}, turn, turn]
    run = codex_cli.parse_events("\n".join(json.dumps(line) for line in lines))
    assert run == codex_cli.Run("t1", {"input_tokens": 280, "output_tokens": 60})
    with pytest.raises(RuntimeError, match="failed a turn"):
        codex_cli.parse_events(json.dumps({"type": "turn.failed", "error": {}}))
    with pytest.raises(RuntimeError, match="no turn"):
        codex_cli.parse_events("")


def test_opencode_config_turns_the_sdk_spans_on(tmp_path: Path) -> None:
    """OpenCode's usage is only on the AI SDK's spans; the user is its ``username``."""
    env = opencode.environment(
        home=tmp_path, base_url=FAKE, otlp_endpoint=OTLP, persona="qa", user="ann"
    )
    settings = json.loads((tmp_path / ".config" / "opencode" / "opencode.json").read_text())
    assert settings["experimental"]["openTelemetry"] is True
    assert settings["username"] == "ann"
    assert settings["provider"][opencode.PROVIDER]["options"]["baseURL"] == f"{FAKE}/v1"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == OTLP
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == f"{n.ATTR_PERSONA}=qa"


def test_codex_config_without_telemetry() -> None:
    """A user's config before they add ``[otel]``: the provider only."""
    settings = tomllib.loads(codex_cli.config(base_url=FAKE, otlp_endpoint=None))
    assert "otel" not in settings
    assert settings["model_providers"][codex_cli.PROVIDER]["base_url"] == f"{FAKE}/v1"
