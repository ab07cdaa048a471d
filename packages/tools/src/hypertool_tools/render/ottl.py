"""OTTL literals, for the renderers that write collector statements."""

from __future__ import annotations


def quote(value: str) -> str:
    """``value`` as an OTTL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
