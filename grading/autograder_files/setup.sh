#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: install uv and the starter's locked
# dependencies (the same pyproject.toml / uv.lock students use) into pristine/.venv.
# CS336_AUTOGRADER_ROOT (default /autograder) moves the whole layout, for testing.
set -euo pipefail
ROOT="${CS336_AUTOGRADER_ROOT:-/autograder}"
PRISTINE="$ROOT/source/pristine"
export PATH="$HOME/.local/bin:$HOME/.cargo/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
    if command -v curl >/dev/null 2>&1; then
        curl -LsSf https://astral.sh/uv/install.sh | sh
    else
        python3 -m pip install --quiet uv
    fi
fi
cd "$PRISTINE"
# --frozen: exactly the locked versions; uv fetches a Python >= 3.11 itself when the image has none.
uv sync --frozen
