#!/usr/bin/env bash
# Refresh the lock files (locks/main.txt: core + dev; locks/llm.txt: core + dev + llm, constrained to main.txt) from
# pyproject.toml, with exact versions and sha256 hashes, by pip-tools' pip-compile (about 10 minutes each here).
# torch is left out of both: scripts/install.sh installs torch==2.13.0 (the CPU build) first, by exact pin.
# Run it deliberately, then `bash scripts/test.sh`, and commit the locks with the test result.
# DOCQA_LOCK_KEEP=1 keeps every pin already in the locks and only adds what pyproject.toml now needs (a new dependency
# without upgrading the rest); the default re-resolves everything (--rebuild, newest allowed releases).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
TOOLS=$(mktemp -d)
trap 'rm -rf "$TOOLS"' EXIT
"$PY" -m venv "$TOOLS/venv"
"$TOOLS/venv/bin/python" -m pip install -q "pip==26.3" "pip-tools==7.6.2"
compile() {  # compile OUT [pip-compile args...]
    local out=$1; shift
    local fresh=--rebuild
    rm -f "$TOOLS/out.txt"
    if [ "${DOCQA_LOCK_KEEP:-0}" = 1 ] && [ -f "$out" ]; then cp "$out" "$TOOLS/out.txt"; fresh=; fi
    "$TOOLS/venv/bin/pip-compile" --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
        --no-emit-find-links --no-emit-trusted-host $fresh --output-file "$TOOLS/out.txt" "$@" pyproject.toml
    # Drop torch and its hashes: its CPU build is not on PyPI under that name (install.sh pins it first).
    "$TOOLS/venv/bin/python" - "$TOOLS/out.txt" "$out" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
text = re.sub(r"\ntorch==[^\n]*(?:\n    [^\n]*)*", "\n", text)
text = text.replace(sys.argv[1], sys.argv[2])
open(sys.argv[2], "w", encoding="utf-8").write(text)
PY
}
mkdir -p locks
compile locks/main.txt --extra dev
compile locks/llm.txt --extra dev --extra llm --constraint locks/main.txt
echo "locks refreshed: $(grep -c '==' locks/main.txt) pins in locks/main.txt, $(grep -c '==' locks/llm.txt) in locks/llm.txt" >&2
