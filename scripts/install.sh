#!/usr/bin/env bash
# Create .venv and install docqa from the lock files: the same versions, checked by sha256, on every machine and day.
# DOCQA_EXTRAS picks the optional extras (default "dev"; scripts/test.sh uses "dev,llm"): locks/main.txt holds core + dev,
# locks/llm.txt core + dev + llm. `scripts/lock.sh` refreshes the locks; DOCQA_LATEST=1 skips them and resolves the
# newest releases that pyproject.toml allows instead (`bash scripts/test.sh --latest`), to try an upgrade deliberately.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
EXTRAS=${DOCQA_EXTRAS:-dev}
LATEST=${DOCQA_LATEST:-0}
PIP_VERSION=26.3
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip_() { .venv/bin/python -m pip "$@" 2> >(grep -v "^WARNING: Location '.*' is ignored" >&2); }
pip_ install -q "pip==$PIP_VERSION"
# CPU build first, by exact pin: any other torch spec pulls several GB of CUDA packages. Not in the locks (its CPU
# build is not on PyPI under that name), so everything below finds it installed.
pip_ install -q "torch==2.13.0"
case ",$EXTRAS," in *",llm,"*) LOCK=locks/llm.txt; LLM=1 ;; *) LOCK=locks/main.txt; LLM=0 ;; esac
if [ "$LLM" = 1 ]; then
    LLAMA_SPEC="llama-cpp-python>=0.3.16,<0.4"
    if [ "$LATEST" != 1 ]; then LLAMA_SPEC=$(grep -oE '^llama-cpp-python==[^ ]+' "$LOCK"); fi
    if ! .venv/bin/python -m pip show -q llama-cpp-python >/dev/null 2>&1 || \
       { [ "$LATEST" != 1 ] && [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')" != "${LLAMA_SPEC#*==}" ]; }; then
        # Source-only on PyPI (compiles in several minutes). Its default -march=native build segfaulted on the first
        # decode on an AMX CPU, so build for AVX2/FMA/F16C, which any x86-64 CPU of the last decade runs; no wheel
        # cache, so a wheel built earlier with other flags is never reused.
        echo "building $LLAMA_SPEC (a few minutes)..." >&2
        CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
            pip_ install -q --no-cache-dir --no-deps "$LLAMA_SPEC"
    fi
fi
if [ "$LATEST" = 1 ]; then
    echo "DOCQA_LATEST=1: resolving the newest allowed releases, not the lock files" >&2
    pip_ install -q --upgrade --upgrade-strategy eager -e ".[$EXTRAS]"
else
    pip_ install -q --require-hashes -r "$LOCK"
    # Built with the locked setuptools already in .venv: build isolation would fetch the newest setuptools
    # that pyproject.toml's build requirement allows, a version no lock file holds.
    pip_ install -q --no-deps --no-build-isolation -e ".[$EXTRAS]"
fi
