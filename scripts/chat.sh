#!/usr/bin/env bash
# Install, index the seeds and serve the web chat over them (prints its address: http://127.0.0.1:7860/).
# `bash scripts/chat.sh --terminal` opens the terminal chat instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False
.venv/bin/docqa index
if [ "${1:-}" = "--terminal" ]; then exec .venv/bin/docqa chat; fi
exec .venv/bin/docqa ui
