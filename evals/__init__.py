"""Evaluation: question suites, metrics and calibration."""

from .suite import SUITES_DIR, Case, Turn, load_suite

__all__ = ["SUITES_DIR", "Case", "Turn", "load_suite"]
