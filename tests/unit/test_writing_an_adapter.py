"""The adapter shown in docs/writing-an-adapter.md is real code: it is extracted from the doc,
run against a stand-in model on a tiny dataset, and must stay under 50 lines."""

import re
import sys
import types
from pathlib import Path

import numpy as np

from ovbench.data.categories import Category, CategorySet
from ovbench.data.dataset import Sample
from ovbench.data.panoptic_format import PanopticMap
from ovbench.raw.record import validate_raw_output

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-an-adapter.md"


def example_code() -> str:
    text = DOC.read_text()
    section = text.split("## A complete adapter", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_example_adapter_is_short_and_produces_valid_raw_outputs(tmp_path, monkeypatch):
    code = example_code()
    assert len(code.strip().splitlines()) < 50

    class StandIn:
        num_queries = 5

        def set_vocabulary(self, names):
            self.C = len(names)

        def __call__(self, image, input_size, padded_size):
            rng = np.random.default_rng(0)
            hm, wm = padded_size[0] // 4, padded_size[1] // 4
            return {"class_logits": rng.normal(size=(5, self.C + 1)), "mask_logits": rng.normal(size=(5, hm, wm)).astype(np.float32)}

    monkeypatch.setitem(sys.modules, "my_model", types.SimpleNamespace(build_model=lambda ckpt, device: StandIn()))
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    from ovbench.adapters import ADAPTERS, get_adapter

    try:
        adapter = get_adapter("my_model", checkpoint="ckpt.pth")
        cats = CategorySet((Category(1, "a", True, ("a",)), Category(2, "b", False)))
        adapter.setup(cats)
        from PIL import Image

        Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "x.jpg")
        gt = PanopticMap(np.zeros((30, 40), np.int32), ())
        raw = validate_raw_output(adapter.predict(Sample("x", tmp_path / "x.jpg", gt, 30, 40)), adapter="my_model", num_classes=2)
        assert raw.mask_logits.shape == (5, 200, 272) and raw.geometry.orig_size == (30, 40)
        assert adapter.info.inference.object_mask_threshold == 0.8
    finally:
        ADAPTERS._entries.pop("my_model", None)
