"""The public API: every name importable, and nothing private behind `import *`."""

from __future__ import annotations

import importlib

import hypertool_agent


def test_every_public_name_imports() -> None:
    """Each name in __all__ exists, and __all__ lists exactly the module's public names."""
    module = importlib.import_module("hypertool_agent")
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    public = {name for name in vars(module) if not name.startswith("_")}
    assert public == set(module.__all__)


def test_implementation_lives_in_private_modules() -> None:
    """Public classes are defined in underscore modules and re-exported."""
    for name in hypertool_agent.__all__:
        obj = getattr(hypertool_agent, name)
        origin = getattr(obj, "__module__", "hypertool_agent._")
        assert origin.startswith("hypertool_agent._") or not callable(obj), (name, origin)
