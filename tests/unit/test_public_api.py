"""The public API: every name importable, and nothing private behind `import *`."""

from __future__ import annotations

import importlib
import inspect

import hypertool_agent


def test_every_public_name_imports() -> None:
    """Each name in __all__ exists, and __all__ lists exactly the module's public names."""
    module = importlib.import_module("hypertool_agent")
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    public = {name for name in vars(module) if not name.startswith("_")}
    assert public == set(module.__all__)


def test_implementation_lives_in_private_modules() -> None:
    """Public classes and functions are defined in underscore modules and re-exported."""
    code = [
        name
        for name in hypertool_agent.__all__
        if inspect.isclass(getattr(hypertool_agent, name))
        or inspect.isfunction(getattr(hypertool_agent, name))
    ]
    assert len(code) >= 12
    for name in code:
        assert getattr(hypertool_agent, name).__module__.startswith("hypertool_agent._"), name
