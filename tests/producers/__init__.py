"""Real foreign GenAI producers the end-to-end tests run: pinned versions, paths, runners."""
