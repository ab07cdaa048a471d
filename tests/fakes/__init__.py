"""Fakes of what the tests may fake: only LLM providers' HTTP APIs, on loopback."""
