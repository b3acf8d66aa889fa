"""The CI gate: thresholds in evals/thresholds.yaml that the full pipeline must reach."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from index import DocqaError

from .runner import SuiteReport

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.yaml"


class SuiteGate(BaseModel):
    """Minimums for one suite (checked on the 'full' system)."""

    sample: int | None = Field(default=None, description="Gate only runs with this --sample (None: any).")
    seed: int | None = Field(default=None, description="Gate only runs with this --seed (None: any).")
    minimum: dict[str, float] = Field(description="Metric name -> lowest accepted value.")
    maximum: dict[str, float] = Field(default_factory=dict, description="Metric name -> highest accepted value (latency).")


def load_gates(path: Path = THRESHOLDS) -> dict[str, SuiteGate]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {name: SuiteGate.model_validate(v) for name, v in raw.items()}
    except (OSError, yaml.YAMLError, ValidationError, AttributeError) as exc:
        raise DocqaError(f"{path}: invalid thresholds file ({exc})") from exc


def check(reports: list[SuiteReport], gates: dict[str, SuiteGate]) -> list[str]:
    """Every missed threshold, in words; empty when the gate passes. Citation validity below 1.0 always fails."""
    misses = []
    for r in reports:
        for system, m in r.metrics.items():
            if m.citation_validity < 1.0:
                misses.append(f"{r.suite}/{system}: citation validity {m.citation_validity:.4f} < 1.0 (a quote is not verbatim)")
        gate = gates.get(r.suite)
        full = r.metrics.get("full")
        if gate is None or full is None:
            continue
        if (gate.sample is not None and gate.sample != r.sample) or (gate.seed is not None and gate.seed != r.seed):
            continue
        for key, low in gate.minimum.items():
            value = getattr(full, key, None)
            if value is None or value < low:
                misses.append(f"{r.suite}/full: {key} {value} < threshold {low}")
        for key, high in gate.maximum.items():
            value = getattr(full, key, None)
            if value is None or value > high:
                misses.append(f"{r.suite}/full: {key} {value} > threshold {high}")
    return misses
