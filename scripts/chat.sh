#!/usr/bin/env bash
# Install, index the seeds and open the terminal chat over them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
.venv/bin/docqa index
exec .venv/bin/docqa chat
