"""Oracles: pure functions of a per-image context (raw output + ground truth) returning a
panoptic prediction. One registry, ``ORACLES``, holds them; built-ins are listed lazily."""

from ..registry import Registry

ORACLES: Registry = Registry("oracle")
for _name, _target in {
    "baseline": "ovbench.oracles.baseline:baseline",
    "oracle_classification": "ovbench.oracles.classification:oracle_classification",
    "mask_selection": "ovbench.oracles.selection:mask_selection",
}.items():
    ORACLES.add(_name, _target)


def register_oracle(name: str):  # type: ignore[no-untyped-def]
    """Decorator: ``@register_oracle("my_oracle")`` on ``fn(ctx: ImageContext, **params) -> PanopticResult``."""
    return ORACLES.register(name)


__all__ = ["ORACLES", "register_oracle"]
