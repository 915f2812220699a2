"""Engines execute compiled circuits. They know nothing of jobs or storage."""

from __future__ import annotations

from qharbor.engines.base import Engine, Experiment, ExperimentOutcome, get_engine

__all__ = ["Engine", "Experiment", "ExperimentOutcome", "get_engine"]
