#!/usr/bin/env bash
# Install from the lock files, then lint, type-check, run the eval gate and the whole test suite, offline (the command CI runs).
# `bash scripts/test.sh --latest` installs the newest releases pyproject.toml allows instead of the locks (an upgrade trial).
# Other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--latest" ]; then export DOCQA_LATEST=1; shift; fi
DOCQA_EXTRAS=dev,llm bash scripts/install.sh
bash scripts/install-browser.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False
.venv/bin/python -m ruff check qa index ui evals tests
.venv/bin/python -m mypy
# Quality gate: the seeds suite and a fixed 1,000-question SQuAD sample against evals/thresholds.yaml.
if [ -d ../shared/bench/squad-dev-v1.1 ]; then suites="seeds squad"; else suites="seeds"; echo "note: ../shared/bench missing, SQuAD gate skipped" >&2; fi
.venv/bin/python -m evals $suites --sample 1000 --seed 0 --report test-artifacts/eval --json test-artifacts/eval/results.json
.venv/bin/python -m pytest -q "$@"
