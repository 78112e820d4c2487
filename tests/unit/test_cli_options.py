"""Options that every command spells the same way (--device, --quiet, --workers, --dataset), and
the newcomer's first commands: `ls oracles`, `leaderboard build` without arguments, writable images."""

import argparse
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from ovbench.cli import build_parser, main
from ovbench.data.synthetic import generate_dataset
from ovbench.errors import ConfigError
from ovbench.workers import default_workers


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate_dataset(root, 2, seed=5, height=192, width=256, workers=1)
    return root


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_workers_option_has_the_same_default_and_shows_it():
    found = {}
    for name, p in _subparsers().items():
        for a in p._actions:
            if "--workers" in a.option_strings:
                found[name] = a
                assert a.default == default_workers(), name
                assert f"{default_workers()} here" in (a.help or ""), name
    assert {"run", "demo", "generate", "pq"} <= set(found)


def test_quiet_is_the_progress_switch_of_run_dump_and_demo():
    subs = _subparsers()
    for name in ("run", "dump", "demo"):
        opts = {o for a in subs[name]._actions for o in a.option_strings}
        assert "--quiet" in opts and "--no-progress" not in opts, name


def test_device_goes_to_adapters_that_take_one(monkeypatch):
    from ovbench.adapters import ADAPTERS
    from ovbench.cli.common import adapter_kwargs

    ns = argparse.Namespace(adapter="simulated", adapter_arg=["seed=1"], device=None)
    assert adapter_kwargs(ns) == {"seed": "1"}  # the simulator takes no device: nothing is added
    ns.device = "cuda"
    with pytest.raises(ConfigError, match="adapter 'simulated' takes no device"):
        adapter_kwargs(ns)
    ns.device = "gpu0"
    with pytest.raises(ConfigError, match="expected auto, cpu, cuda or cuda:N"):
        adapter_kwargs(ns)

    class WithDevice:
        def __init__(self, device: str = "cpu") -> None:
            self.device = device

    ADAPTERS.add("device_test_adapter", WithDevice)
    try:
        ns = argparse.Namespace(adapter="device_test_adapter", adapter_arg=[], device="cuda:1")
        assert adapter_kwargs(ns) == {"device": "cuda:1"}
        ns.adapter_arg = ["device=cpu"]
        with pytest.raises(ConfigError, match="disagree"):
            adapter_kwargs(ns)
        ns.device = None
        assert adapter_kwargs(ns) == {"device": "cpu"}
        ns.adapter_arg = []
        assert adapter_kwargs(ns)["device"] in ("cpu", "cuda")  # auto
    finally:
        ADAPTERS._entries.pop("device_test_adapter")


def test_run_accepts_a_json_path_like_vlm_oracle(data_root, tmp_path, capsys):
    ade = data_root / "ADEChallengeData2016"
    base = ["--adapter", "simulated", "--adapter-arg", "seed=1", "--quiet", "--workers", "1", "--limit", "1"]
    assert main(["run", *base, "--dataset-root", str(data_root), "--out", str(tmp_path / "by_name")]) == 0
    assert main(["run", *base, "--dataset", str(ade / "ade20k_panoptic_val.json"), "--dataset-root", str(ade / "images" / "validation"),
                 "--out", str(tmp_path / "by_path")]) == 0
    a, b = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("by_name", "by_path"))
    assert a["dataset"] == b["dataset"] and a["oracles"] == b["oracles"]
    capsys.readouterr()
    assert main(["run", *base, "--dataset", str(tmp_path / "missing.json"), "--out", str(tmp_path / "x")]) == 1
    assert "missing.json does not exist" in capsys.readouterr().err


def test_ls_oracles_lists_every_row_of_the_results(data_root, tmp_path, capsys):
    assert main(["run", "--adapter", "simulated", "--dataset-root", str(data_root), "--limit", "1", "--quiet", "--workers", "1",
                 "--out", str(tmp_path / "r")]) == 0
    rows = set(json.loads((tmp_path / "r" / "results.json").read_text())["oracles"])
    capsys.readouterr()
    assert main(["ls", "oracles"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 6 and set(listed) == rows and len(listed) == len(rows)


def test_leaderboard_build_without_arguments_is_a_usage_message(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", "build"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "usage: ovbench leaderboard build --results RUN_DIR" in err


def test_load_image_is_writable_so_torch_does_not_warn(data_root):
    torch = pytest.importorskip("torch")
    from ovbench.data.catalog import get_dataset

    ds = get_dataset("ade20k_panoptic_val", root=data_root)
    image = ds.sample(ds.image_ids()[0]).load_image()
    assert image.flags.writeable and image.flags.c_contiguous and image.dtype == np.uint8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.from_numpy(image)


def test_plugin_file_imports_a_sibling_module_without_pythonpath(tmp_path, monkeypatch):
    import sys

    from ovbench.adapters import ADAPTERS
    from ovbench.cli.common import load_plugins

    (tmp_path / "sibling_model_xyz.py").write_text("VALUE = 42\n")
    (tmp_path / "plug.py").write_text(
        "from sibling_model_xyz import VALUE\n"
        "from ovbench.adapters import register_adapter\n"
        "from ovbench.adapters.simulated.adapter import SimulatedAdapter\n"
        "@register_adapter('plugin_test_adapter')\n"
        "class P(SimulatedAdapter):\n    value = VALUE\n")
    (tmp_path / "broken.py").write_text("import no_such_module_anywhere_xyz\n")
    monkeypatch.chdir(Path(__file__).parent)  # not the plugin's folder
    path_before = list(sys.path)
    try:
        load_plugins([str(tmp_path / "plug.py")])
        assert ADAPTERS.get("plugin_test_adapter").value == 42
        assert sys.path == path_before  # the folder is on sys.path only while the file is imported
        with pytest.raises(ConfigError, match=re.escape("--plugin") + r".*broken.py.*no_such_module_anywhere_xyz"):
            load_plugins([str(tmp_path / "broken.py")])
    finally:
        ADAPTERS._entries.pop("plugin_test_adapter", None)
        sys.modules.pop("sibling_model_xyz", None)
