"""Named exception types. Every bad input ovbench meets raises one of these with a message
that names the file (or adapter and image) and the problem; none is ever silently ignored."""

from __future__ import annotations


class OvbenchError(Exception):
    """Base class of every error ovbench raises on purpose."""


class DatasetError(OvbenchError):
    """A dataset on disk is missing, malformed or inconsistent (JSON vs PNG)."""


class PredictionError(OvbenchError):
    """A prediction (JSON + PNG pair, or an in-memory panoptic map) is malformed."""


class BadRawOutput(OvbenchError):
    """An adapter returned a raw output record that breaks the contract."""


class RegistryError(OvbenchError, KeyError):
    """Unknown or duplicate name in a registry (adapters, oracles, datasets)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(OvbenchError):
    """A suite, run spec or command-line option is invalid."""


class TaxonomyError(OvbenchError):
    """A taxonomy YAML file is invalid."""


class SchemaError(OvbenchError):
    """A results file or submission manifest does not match its schema."""


class SubmissionError(OvbenchError):
    """A submission breaks a rule of the leaderboard (suite, dataset or hash mismatch)."""


class WorkerError(OvbenchError):
    """A worker process died (killed, out of memory, crashed) while evaluating; its task is lost."""


class MissingDependency(OvbenchError, ImportError):
    """An optional dependency is needed for this feature but not installed."""


def require(module: str, hint: str) -> object:
    """Import `module` or raise MissingDependency carrying an install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised via tests with a fake name
        raise MissingDependency(f"{module!r} is required for this feature but is not installed: {hint}") from exc


class OutputError(OvbenchError):
    """An output file or folder cannot be written (out of space, locked by another run, ...)."""
