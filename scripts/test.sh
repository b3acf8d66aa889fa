#!/usr/bin/env bash
# Install, then run the whole test suite offline (the command CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False
.venv/bin/python -m ruff check qa index ui evals tests
.venv/bin/python -m mypy
.venv/bin/python -m pytest -q "$@"
