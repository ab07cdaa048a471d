"""The public API: every name importable, and nothing private behind `import *`."""

from __future__ import annotations

import importlib
import inspect

import hypertool_agent

#: Public modules beside the facade: the exceptions, the names the library emits, and the
#: in-memory helpers for users' tests (present once imported).
PUBLIC_MODULES = {"errors", "names", "testing"}


def test_every_public_name_imports() -> None:
    """Each name in __all__ exists, and __all__ lists exactly the module's public names."""
    module = importlib.import_module("hypertool_agent")
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    public = {name for name in vars(module) if not name.startswith("_")}
    assert public - PUBLIC_MODULES == set(module.__all__)


def test_implementation_lives_in_private_modules() -> None:
    """Public classes and functions live in underscore modules (or errors), re-exported."""
    code = [
        name
        for name in hypertool_agent.__all__
        if inspect.isclass(getattr(hypertool_agent, name))
        or inspect.isfunction(getattr(hypertool_agent, name))
    ]
    assert len(code) >= 12
    for name in code:
        where = getattr(hypertool_agent, name).__module__
        assert where.startswith("hypertool_agent._") or where == "hypertool_agent.errors", name
