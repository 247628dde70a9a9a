#!/usr/bin/env bash
# Install everything the tests need into .venv and .tools, then run pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k plan`.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,ray]'  # ray: the scale-out tests

# The real Claude Code CLI, driven offline against a loopback stand-in of the API.
if [ ! -x .tools/node_modules/.bin/claude ]; then
  npm install --silent --no-audit --no-fund --prefix .tools @anthropic-ai/claude-code
fi

# ACP agents for the acp backend's tests, in a prefix of their own: claude-agent-acp (0.49 is
# the last that runs on Node 20; it drives the CLI above through CLAUDE_CODE_EXECUTABLE, so the
# SDK's own 220 MB native CLI, an optional dependency, is left out) and Gemini CLI
# (`gemini --acp`, against a loopback stand-in of the Gemini API). No install scripts needed.
if [ ! -x .tools/acp/node_modules/.bin/claude-agent-acp ] || [ ! -x .tools/acp/node_modules/.bin/gemini ]; then
  npm install --silent --no-audit --no-fund --ignore-scripts --omit=optional --prefix .tools/acp \
    @agentclientprotocol/claude-agent-acp@0.49.0 @google/gemini-cli@0.61.0
fi

# tmux, for the side-pane tests.
if ! command -v tmux >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq tmux) >/dev/null 2>&1 || echo "note: could not install tmux"
fi

# Chromium, for the browser test of `serve` (tests/test_serve_browser.py drives Debian's
# package over the DevTools protocol; without it that test is skipped and says so).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
    || echo "note: could not install chromium"
fi

# The import contracts of pyproject.toml (layers, no cycles): broken ones fail CI here.
.venv/bin/lint-imports

exec .venv/bin/python -m pytest -n 2 "$@"
