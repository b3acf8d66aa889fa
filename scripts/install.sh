#!/usr/bin/env bash
# Create .venv and install docqa (CPU-only torch pinned first so nothing pulls CUDA wheels).
# DOCQA_EXTRAS picks the optional extras (default "dev"; scripts/test.sh uses "dev,llm").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
EXTRAS=${DOCQA_EXTRAS:-dev}
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
if [[ ",$EXTRAS," == *",llm,"* ]] && ! .venv/bin/python -m pip show -q llama-cpp-python >/dev/null 2>&1; then
    # Source-only on PyPI (compiles in several minutes). Its default -march=native build segfaulted on the first
    # decode on an AMX CPU, so build for AVX2/FMA/F16C, which any x86-64 CPU of the last decade runs; no wheel
    # cache, so a wheel built earlier with other flags is never reused.
    echo "building llama-cpp-python (a few minutes)..." >&2
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
        .venv/bin/python -m pip install -q --no-cache-dir "llama-cpp-python>=0.3.16,<0.4"
fi
.venv/bin/python -m pip install -q -e ".[$EXTRAS]"
