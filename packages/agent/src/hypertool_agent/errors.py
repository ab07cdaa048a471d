"""The exceptions hypertool_agent raises.

Kept in a module of their own so that every part of the library can raise them without
importing the telemetry set-up (and so that users can catch them without importing it).
"""

from __future__ import annotations

__all__ = ["ConfigurationError"]


class ConfigurationError(ValueError):
    """A setting that cannot work, raised at configuration time and never while recording.

    The message names the setting (argument, environment variable or file and key), what
    was expected and what was given::

        try:
            hypertool_agent.configure(shutdown_timeout=0)
        except hypertool_agent.ConfigurationError as exc:
            sys.exit(f"bad telemetry settings: {exc}")
    """
