"""The adapter protocol: wrap a mask-based open-vocabulary segmenter so that ovbench can read
its raw outputs (one forward pass per image).

A new model needs a subclass with ``info``, ``setup`` and ``predict`` (see
docs/writing-an-adapter.md); register it with ``@register_adapter("name")`` or through the
``ovbench.adapters`` entry-point group.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

from ovbench.data.categories import CategorySet
from ovbench.data.dataset import Sample
from ovbench.inference.mask2former import InferenceConfig
from ovbench.raw.record import RawOutput


@dataclass(frozen=True)
class AdapterInfo:
    """Static facts about a wrapped model, recorded in every results file.

    kind: "mask_transformer" for real models, "simulated" for the test/demo simulator.
    inference: the model's own panoptic-inference thresholds (used by every oracle).
    """

    name: str
    version: str
    kind: str = "mask_transformer"
    num_queries: int = 0
    inference: InferenceConfig = InferenceConfig()
    display_name: str = ""
    paper: str = ""
    code: str = ""
    release_date: str = ""
    training_data: str = "coco_panoptic_train2017"
    backbone: str = ""
    checkpoint_sha256: str | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from ovbench.errors import ConfigError
        from ovbench.raw.store import is_safe_url

        for k in ("paper", "code"):
            v = getattr(self, k)
            if v and not is_safe_url(v):
                raise ConfigError(f"adapter {self.name!r}: {k} must be an http(s) URL, got {str(v)[:80]!r}")

    def model_json(self) -> dict[str, Any]:
        """The ``model`` section of a results file."""
        return {
            "name": self.display_name or self.name,
            "adapter": self.name,
            "adapter_version": self.version,
            "kind": self.kind,
            "paper": self.paper,
            "code": self.code,
            "release_date": self.release_date,
            "training_data": self.training_data,
            "backbone": self.backbone,
            "checkpoint_sha256": self.checkpoint_sha256,
            "notes": self.notes,
        }

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["inference"] = self.inference.to_json()
        return d


class Adapter(ABC):
    """Base class of model adapters.

    Lifecycle: ``setup(categories)`` once with the evaluation vocabulary (build the text
    classifier there), then ``predict(sample)`` per image, then ``close()``.
    ``parallel_safe`` adapters (CPU-only, cheap to build) may be instantiated once per worker
    process; others run in the main process and hand their raw outputs to the workers.
    """

    parallel_safe: bool = False

    @property
    @abstractmethod
    def info(self) -> AdapterInfo: ...

    @abstractmethod
    def setup(self, categories: CategorySet) -> None:
        """Prepare for a dataset whose classes are `categories` (the vocabulary, in order)."""

    @abstractmethod
    def predict(self, sample: Sample) -> RawOutput:
        """One forward pass on ``sample.load_image()``; return the raw outputs.

        ``sample.gt`` is there for the simulated adapter only: a real model must not read it.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (GPU memory, files)."""
