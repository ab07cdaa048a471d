"""Our collector components' Go tests, run with the race detector (marker go)."""
