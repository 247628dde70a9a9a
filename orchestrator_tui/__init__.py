"""orchestrator-tui: run AI coding agents through a nine-stage, human-gated pipeline."""

__version__ = "0.1.0"
