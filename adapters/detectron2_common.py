"""Shared glue for detectron2 meta-architectures (FC-CLIP, MAFT+): build the model from the
user's config + checkpoint, run ONE forward pass per image and capture its raw outputs.

detectron2 and the model's own package are imported lazily; a missing one is a clear
:class:`ovbench.errors.MissingDependency`. Capturing uses the model's real forward: a hook on
``sem_seg_head`` keeps the mask logits [N, Hp/4, Wp/4] and in-vocab logits [N, C+1]; a wrapper
around the model module's ``get_classification_logits`` keeps the out-vocab (CLIP) logits; and
``panoptic_inference`` is replaced by a recorder of its class input ``log(probs + 1e-8)``, so
the full-resolution fusion (which ovbench redoes for every oracle) is skipped.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ovbench.data.categories import CategorySet
from ovbench.errors import BadRawOutput, ConfigError, MissingDependency
from ovbench.inference.geometry import pad_to
from ovbench.raw.record import MaskGeometry, RawOutput

DETECTRON2_HINT = (
    "detectron2 is not on PyPI: install it from source (https://github.com/facebookresearch/detectron2, "
    "`pip install 'git+https://github.com/facebookresearch/detectron2.git'` on a machine with network), "
    "see docs/writing-an-adapter.md"
)


def import_or_explain(module: str, hint: str) -> Any:
    """Import `module`; a missing one is MissingDependency, any other failure (a detectron2 built
    against another torch, say) one ConfigError line."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(f"{module!r} could not be imported ({_one_line(exc)}); {hint}") from exc
    except Exception as exc:  # noqa: BLE001 - third-party import code can raise anything
        raise ConfigError(f"importing {module!r} failed: {type(exc).__name__}: {_one_line(exc)}; {hint}") from exc


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


MISSING_HINTS = {  # module a model package fails to import -> what to do
    "MultiScaleDeformableAttention": "compile the model's deformable-attention op (cd <repo>/<package>/modeling/pixel_decoder/ops "
                                     "&& sh make.sh), or put a stand-in module of that name on PYTHONPATH so that its pure-PyTorch "
                                     "fallback runs on the CPU (docs/writing-an-adapter.md)",
    "cv2": "pip install opencv-python-headless",
    "open_clip": "install the model's own open_clip (MAFT+: open_clip_torch==2.16.0) and ovbench WITHOUT the [clip] extra",
    "detectron2": DETECTRON2_HINT,
}


def model_repo_root(root: str | None, package: str, adapter: str, repo_url: str) -> Path:
    """The model's repository root (the folder holding the `package` folder), put on ``sys.path``.

    ``--adapter-arg repo=/path/to/fc-clip``, else the folder of an importable `package` (found
    without importing it)."""
    if root:
        p = Path(root).expanduser().resolve()
        if not (p / package).is_dir():
            raise ConfigError(f"{adapter}: {p} does not contain the {package!r} package (is it the model's repository root?)")
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
        return p
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"{adapter}: the {package!r} package is not importable; clone {repo_url} and pass "
                          f"--adapter-arg repo=/path/to/it")
    return Path(list(spec.submodule_search_locations)[0]).resolve().parent


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """Run the block with `path` as the working directory, and restore the previous one after
    (FC-CLIP and MAFT+ open ``./<package>/data/datasets/*.txt`` when they are imported)."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def import_model_module(module: str, root: Path, adapter: str) -> Any:
    """Import `module` of the model's package; ANY failure (a missing compiled op or file, an
    incompatible dependency) becomes one ConfigError line naming the repository and what is missing."""
    try:
        return importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - every failure of third-party import code is reported the same way
        known = next((m for m in MISSING_HINTS if m in str(exc)), None)
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            top = exc.name.split(".")[0]
            what = f"module {exc.name!r} is missing"
            hint = MISSING_HINTS.get(top, f"install {top!r} into this environment")
        elif isinstance(exc, ImportError) and known:  # re-raised with the model's own message (FC-CLIP's op check)
            what = f"{type(exc).__name__}: {_one_line(exc)}"
            hint = MISSING_HINTS[known]
        elif isinstance(exc, FileNotFoundError):
            what = f"file {exc.filename!r} is missing"
            hint = f"is {root} a complete checkout of the model's repository?"
        else:
            what = f"{type(exc).__name__}: {_one_line(exc)}"
            hint = "the model's repository and its dependencies do not match (see docs/writing-an-adapter.md)"
        raise ConfigError(f"{adapter}: importing {module!r} from {root} failed: {what}; {hint}") from exc


def open_clip_clash(root: Path, package: str, adapter: str) -> str | None:
    """A message when the model's CLIP wrapper needs a sequence-first open_clip text transformer
    (open_clip 2.x, e.g. 2.16.0 as MAFT+ pins) but the installed open_clip is batch-first (3.x, what
    ovbench's [clip] extra installs); None when they fit or open_clip is absent.

    The wrapper is ``<package>/modeling/backbone/clip.py``; it "needs sequence-first" when it
    permutes the text tokens ``permute(1, 0, 2)`` (NLD -> LND) before calling the transformer, as
    FC-CLIP's and MAFT+'s do. Checked from the source text and open_clip's signature, without
    building anything."""
    wrapper = root / package / "modeling" / "backbone" / "clip.py"
    try:
        source = wrapper.read_text(errors="replace")
    except OSError:
        return None
    if "permute(1, 0, 2)" not in source or ".transformer(" not in source:
        return None
    if importlib.util.find_spec("open_clip") is None:
        return None
    import inspect

    try:
        oc = importlib.import_module("open_clip")
        transformer = importlib.import_module("open_clip.transformer").Transformer
        param = inspect.signature(transformer.__init__).parameters.get("batch_first")
    except Exception:  # noqa: BLE001 - an unusual open_clip: let the model's own import decide
        return None
    if param is None or param.default is not True:
        return None
    version = getattr(oc, "__version__", "?")
    where = Path(oc.__file__).parent if oc.__file__ else "?"
    return (f"{adapter}: open_clip {version} ({where}) has a batch-first text transformer, but {wrapper} "
            "permutes the text tokens to sequence-first as open_clip 2.x needs: its text tower would fail with \"The shape "
            "of the 2D attn_mask is torch.Size([77, 77]), but should be ...\". Install the model's own open_clip into this "
            "environment (MAFT+: open_clip_torch==2.16.0; FC-CLIP: a 2.x release) and ovbench WITHOUT the [clip] extra; "
            "run `ovbench vlm-oracle` from a separate environment (docs/writing-an-adapter.md)")


def vocabulary_from_metadata(metadata: Any, categories: CategorySet, adapter: str) -> np.ndarray:
    """[C] dataset ids of the model's class columns (contiguous ids -> dataset ids), checked
    against the evaluation dataset's categories."""
    names = list(metadata.stuff_classes)
    to_contig = dict(getattr(metadata, "stuff_dataset_id_to_contiguous_id", {i: i for i in range(len(names))}))
    contig_to_id = {v: k for k, v in to_contig.items()}
    ids = np.array([contig_to_id[i] for i in range(len(names))], dtype=np.int64)
    if set(ids.tolist()) != {int(i) for i in categories.ids}:
        raise BadRawOutput(f"adapter {adapter!r}: the model's test vocabulary ({len(ids)} classes) differs from the dataset's "
                           f"({len(categories)} classes); set DATASETS.TEST in the config to the matching dataset")
    return ids


@contextmanager
def capture_raw(model: Any, model_module: Any):  # type: ignore[no-untyped-def]
    """Context manager yielding a dict filled by one forward pass of `model`."""
    import torch

    store: dict[str, Any] = {}

    def head_hook(_m: Any, _i: Any, out: Any) -> None:
        store["pred_logits"] = out["pred_logits"].detach()
        store["pred_masks"] = out["pred_masks"].detach()

    orig_gcl = model_module.get_classification_logits

    def gcl(*args: Any, **kwargs: Any) -> Any:
        r = orig_gcl(*args, **kwargs)
        store["out_vocab"] = r.detach()
        return r

    def record_panoptic(mask_cls: Any, mask_pred: Any, *_: Any) -> Any:  # MAFT+ passes the dataset name too
        store["log_probs"] = mask_cls.detach()
        return torch.zeros(mask_pred.shape[-2:], dtype=torch.int32, device=mask_pred.device), []

    handle = model.sem_seg_head.register_forward_hook(head_hook)
    model_module.get_classification_logits = gcl
    saved = (model.panoptic_inference, model.semantic_on, model.instance_on, model.panoptic_on)
    model.panoptic_inference = record_panoptic
    model.semantic_on, model.instance_on, model.panoptic_on = False, False, True
    try:
        yield store
    finally:
        handle.remove()
        model_module.get_classification_logits = orig_gcl
        model.panoptic_inference, model.semantic_on, model.instance_on, model.panoptic_on = saved


def raw_from_capture(store: dict[str, Any], image_id: str, orig: tuple[int, int], input_hw: tuple[int, int], divisibility: int,
                     category_ids: np.ndarray, adapter: str, *, pre_ensemble_logits: bool = True) -> RawOutput:
    """Turn captured tensors (batch of one) into a :class:`RawOutput`; without
    `pre_ensemble_logits` the in- / out-of-vocabulary logits are left out (no ensemble sweep)."""
    missing = [k for k in ("pred_masks", "pred_logits", "log_probs") if k not in store]
    if missing:
        raise BadRawOutput(f"adapter {adapter!r}, image {image_id!r}: the forward pass did not produce {missing} "
                           "(unsupported model version?)")
    masks = store["pred_masks"][0].float().cpu().numpy()
    probs = np.exp(store["log_probs"].float().cpu().numpy().astype(np.float64)) - 1e-8
    probs = np.clip(probs, 0.0, None)
    probs = (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
    padded = (pad_to(input_hw[0], divisibility), pad_to(input_hw[1], divisibility))
    in_vocab = store["pred_logits"][0].float().cpu().numpy() if pre_ensemble_logits else None
    out_vocab = store["out_vocab"][0].float().cpu().numpy()[:, :-1] if "out_vocab" in store and pre_ensemble_logits else None
    return RawOutput(image_id, masks, probs, category_ids, MaskGeometry(orig, input_hw, padded),
                     in_vocab_logits=in_vocab, out_vocab_logits=out_vocab)


def load_image_for_detectron2(path: Path, fmt: str, short: int, max_size: int) -> tuple[Any, tuple[int, int], tuple[int, int]]:
    """Read and resize an image as detectron2's test DatasetMapper does; returns a [3, h, w]
    tensor, the original (H, W) and the resized (h, w)."""
    import torch

    d2_utils = import_or_explain("detectron2.data.detection_utils", DETECTRON2_HINT)
    T = import_or_explain("detectron2.data.transforms", DETECTRON2_HINT)
    image = d2_utils.read_image(str(path), format=fmt)
    H, W = image.shape[:2]
    resized = T.ResizeShortestEdge(short, max_size).get_transform(image).apply_image(image)
    tensor = torch.as_tensor(np.ascontiguousarray(resized.transpose(2, 0, 1)))
    return tensor, (H, W), (int(resized.shape[0]), int(resized.shape[1]))
