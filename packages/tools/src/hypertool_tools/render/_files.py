"""How every renderer writes: only what changed, and nothing at all with ``check``."""

from __future__ import annotations

from pathlib import Path


def write_rendered(path: Path, text: str, *, check: bool) -> bool:
    """Write ``text`` to ``path`` unless it holds it already (or ``check``); True if it did."""
    if path.is_file() and path.read_text() == text:
        return True
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return False
