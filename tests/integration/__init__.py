"""Real processes, no stack: exits, signals, locks across processes (marker integration)."""
