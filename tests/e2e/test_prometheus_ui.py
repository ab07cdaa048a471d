"""The native Prometheus serves its own web UI: the query page, alerts, rules, targets."""

from __future__ import annotations

import json
import re
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypertool_tools.stack.build import prometheus_ui_marker
from tests.conftest import LOOPBACK, NativeStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
#: Pages of the UI (routes of its React router) that scripts/up points users to.
PAGES = ["/query", "/alerts", "/rules", "/targets"]


@dataclass
class Response:
    """What a GET returned: status, content type and body."""

    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode()


def get(url: str) -> Response:
    """GET ``url`` on loopback; an HTTP error status is returned, not raised."""
    try:
        with LOOPBACK.open(url, timeout=10) as response:
            return Response(response.status, response.headers["Content-Type"], response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers.get("Content-Type", ""), error.read())


def assets(html: str) -> dict[str, str]:
    """The script and stylesheet paths the page references, by kind ("js", "css")."""
    found = {
        "js": re.findall(r'<script[^>]*\ssrc="([^"]+)"', html),
        "css": re.findall(r'<link[^>]*rel="stylesheet"[^>]*\shref="([^"]+)"', html),
    }
    assert all(len(paths) == 1 for paths in found.values()), found
    return {kind: paths[0] for kind, paths in found.items()}


def test_query_page_is_the_web_ui(native_stack: NativeStack) -> None:
    """/query serves the UI's HTML, with the placeholders Prometheus fills in filled in."""
    page = get(f"{native_stack.stack.prometheus_url}/query")
    assert page.status == 200, page.text[:500]
    assert page.content_type.startswith("text/html"), page.content_type
    assert '<div id="root">' in page.text
    assert "<title>Prometheus Time Series Collection and Processing Server</title>" in page.text
    assert "PLACEHOLDER" not in page.text, "Prometheus did not fill in the page's placeholders"
    assert "GLOBAL_AGENT_MODE='false'" in page.text


@pytest.mark.parametrize(
    ("kind", "content_types"),
    [("js", ("application/javascript", "text/javascript")), ("css", ("text/css",))],
)
def test_the_pages_assets_are_served(
    native_stack: NativeStack, kind: str, content_types: tuple[str, ...]
) -> None:
    """The JavaScript and CSS that /query references come back whole, with their type."""
    url = native_stack.stack.prometheus_url
    path = assets(get(f"{url}/query").text)[kind]
    assert path.startswith("./assets/"), path  # relative to the page, as Vite builds it
    asset = get(f"{url}/{path.removeprefix('./')}")
    assert asset.status == 200, asset.text[:500]
    assert asset.content_type.startswith(content_types), asset.content_type
    assert len(asset.body) > 100_000, f"{path}: only {len(asset.body)} bytes"


@pytest.mark.parametrize("page", PAGES)
def test_each_page_serves_the_app(native_stack: NativeStack, page: str) -> None:
    """/query, /alerts, /rules and /targets all serve the app, which routes in the browser."""
    url = native_stack.stack.prometheus_url
    served = get(f"{url}{page}")
    assert served.status == 200, served.text[:500]
    assert served.content_type.startswith("text/html"), served.content_type
    assert assets(served.text) == assets(get(f"{url}/query").text)


def test_root_and_graph_lead_to_the_query_page(native_stack: NativeStack) -> None:
    """/ and the old /graph redirect to the query page, which the UI serves."""
    url = native_stack.stack.prometheus_url
    for start in ("/", "/graph"):
        landed = LOOPBACK.open(f"{url}{start}", timeout=10)
        with landed:
            assert landed.status == 200
            assert landed.url.startswith(f"{url}/query"), landed.url
            assert '<div id="root">' in landed.read().decode()


def test_favicon_is_served(native_stack: NativeStack) -> None:
    """The UI's icon, which browsers ask for at the root, is there."""
    icon = get(f"{native_stack.stack.prometheus_url}/favicon.svg")
    assert icon.status == 200
    assert icon.content_type.startswith("image/svg+xml"), icon.content_type


def test_the_build_recorded_what_it_embedded() -> None:
    """The cache entry's marker lists the embedded UI files, index.html among them."""
    marker = json.loads(prometheus_ui_marker(ROOT).read_text())
    assert "builtinassets" in marker["tags"].split(",")
    assert "static/mantine-ui/index.html" in marker["assets"]
