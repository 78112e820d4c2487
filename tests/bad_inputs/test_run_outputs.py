"""`ovbench run` never turns a bad dump, a moved shard, a full disk or a second run into a wrong
number or a half-written folder. Each case: exact error class, message fragment, exit code, and
what is (not) left in the output folder."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import ovbench.atomic as atomic
from ovbench.cli import main
from ovbench.data.catalog import get_dataset
from ovbench.errors import BadRawOutput, ConfigError, OutputError
from ovbench.raw.store import dump_path
from ovbench.results.io import load_results, write_table_atomic
from ovbench.runner.run import RunOptions, run_suite
from ovbench.suites.suite import load_suite

from .conftest import assert_nothing_written, leftovers

REAL_WRITE = atomic._write_all
IMG1, IMG2, IMG3 = "ADE_val_00000001", "ADE_val_00000002", "ADE_val_00000003"


@pytest.fixture(scope="module")
def tiny_dump(tiny_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dump") / "d"
    assert main(["dump", "--adapter", "simulated", "--adapter-arg", "seed=1", "--dataset-root", str(tiny_root),
                 "--out", str(out), "--quiet", "--dtype", "float32"]) == 0
    return out


@pytest.fixture
def dump(tiny_dump, tmp_path) -> Path:
    """A private copy of the dump, to mutate."""
    d = tmp_path / "dump"
    shutil.copytree(tiny_dump, d)
    return d


def run_cli(out: Path, root: Path, suite: Path, *extra: str, adapter: list[str] | None = None) -> int:
    adapter = adapter or ["--adapter", "simulated", "--adapter-arg", "seed=1"]
    # one process: the fake small disk (SmallDisk) counts bytes per process, so forked workers would each get the budget
    return main(["run", *adapter, "--dataset-root", str(root), "--suite", str(suite), "--out", str(out), "--quiet",
                 "--workers", "1", *extra])


def replay(dump: Path) -> list[str]:
    return ["--adapter", "dump", "--adapter-arg", f"path={dump}"]


def npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def numbers(path: Path) -> tuple:
    doc = load_results(path)
    return doc["oracles"], doc["per_class"], doc["fn_breakdown"], doc.get("diagnostics")


# ---- dump replay ------------------------------------------------------------------------------------
def _other_image_without_id(d: Path) -> None:
    a = npz(dump_path(d, IMG2))
    del a["image_id"]
    save_npz(dump_path(d, IMG1), a)


def _other_image_with_id(d: Path) -> None:
    shutil.copyfile(dump_path(d, IMG2), dump_path(d, IMG1))


def _other_size(d: Path) -> None:
    a = npz(dump_path(d, IMG1))
    a["geometry"] = a["geometry"].copy()
    a["geometry"][0] = [a["geometry"][0][0] + 8, a["geometry"][0][1]]
    save_npz(dump_path(d, IMG1), a)


def _retype(name: str, fn):  # type: ignore[no-untyped-def]
    def mutate(d: Path) -> None:
        a = npz(dump_path(d, IMG1))
        a[name] = fn(a[name])
        save_npz(dump_path(d, IMG1), a)
    return mutate


def _manifest(fn):  # type: ignore[no-untyped-def]
    def mutate(d: Path) -> None:
        m = json.loads((d / "manifest.json").read_text())
        fn(m)
        (d / "manifest.json").write_text(json.dumps(m))
    return mutate


DUMP_CASES = [
    # (case, mutation, fragment)
    ("npz_without_image_id", _other_image_without_id, "missing arrays ['image_id']"),
    ("npz_of_another_image", _other_image_with_id, f"holds image {IMG2!r}, expected {IMG1!r}"),
    ("npz_of_another_size", _other_size, "records image size 104x128 (h x w) but the dataset's image is 96x128"),
    ("mask_logits_int32", _retype("mask_logits", lambda x: np.round(x).astype(np.int32)),
     "array 'mask_logits' has dtype int32, expected a float array"),
    ("class_probs_strings", _retype("class_probs", lambda x: x.astype(str)), "array 'class_probs' has dtype <U"),
    ("manifest_invalid_json", lambda d: (d / "manifest.json").write_text('{"format": "ovbench-raw/1",'), "not valid JSON"),
    ("manifest_a_list", lambda d: (d / "manifest.json").write_text("[1, 2]"), "the manifest must be a JSON object, got list"),
    ("manifest_overlap_threshold_abc", _manifest(lambda m: m["adapter"]["inference"].update(overlap_threshold="abc")),
     "adapter.inference.overlap_threshold must be a finite number, got 'abc'"),
    ("manifest_unknown_inference_key", _manifest(lambda m: m["adapter"]["inference"].update(overlap_treshold=0.5)),
     "adapter.inference has unknown key 'overlap_treshold'"),
    ("manifest_javascript_url", _manifest(lambda m: m["adapter"].update(paper="javascript:alert(1)")),
     "adapter.paper must be an http(s) URL, got 'javascript:alert(1)'"),
]


@pytest.mark.parametrize("case", DUMP_CASES, ids=[c[0] for c in DUMP_CASES])
def test_bad_dumps_are_refused_and_leave_nothing(case, dump, tiny_root, tiny_suite, tmp_path, capsys):
    name, mutate, fragment = case
    mutate(dump)
    out = tmp_path / "out"
    assert run_cli(out, tiny_root, tiny_suite, adapter=replay(dump)) == 1
    err = capsys.readouterr().err.strip()
    assert fragment in err and str(dump) in err
    assert err.count("\n") == 0 and "Traceback" not in err  # one line
    assert_nothing_written(out)
    with pytest.raises(BadRawOutput, match=".*" + fragment.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        ds = get_dataset("ade20k_panoptic_val", root=tiny_root)
        run_suite("dump", {"path": str(dump)}, ds, load_suite(tiny_suite), RunOptions(out_dir=tmp_path / "out2", progress=False))
    assert_nothing_written(tmp_path / "out2")


def test_the_unmodified_dump_replays(dump, tiny_root, tiny_suite, tmp_path):
    """The cases above fail because of their mutation: the same dump, untouched, runs."""
    assert run_cli(tmp_path / "out", tiny_root, tiny_suite, adapter=replay(dump)) == 0
    assert leftovers(tmp_path / "out") == [] and (tmp_path / "out" / "results.json").is_file()


# ---- shards -----------------------------------------------------------------------------------------------
def test_a_shard_copied_under_another_images_name_is_refused(tiny_root, tiny_suite, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli(out, tiny_root, tiny_suite) == 0
    shards = out / "shards"
    shutil.copyfile(shards / f"{IMG3}.json", shards / f"{IMG2}.json")
    (out / "results.json").unlink()
    assert run_cli(out, tiny_root, tiny_suite, "--merge-only") == 1
    err = capsys.readouterr().err
    assert f"holds image {IMG3!r}, not {IMG2!r}" in err and str(shards / f"{IMG2}.json") in err
    assert not (out / "results.json").exists() and leftovers(out) == []
    with pytest.raises(ConfigError, match="a shard file was renamed or copied"):
        ds = get_dataset("ade20k_panoptic_val", root=tiny_root)
        run_suite("simulated", {"seed": 1}, ds, load_suite(tiny_suite), RunOptions(out_dir=out, progress=False))


def test_another_run_spec_names_no_resume_and_fails_before_computing(tiny_root, tiny_suite, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli(out, tiny_root, tiny_suite) == 0
    before = {p.name: p.stat().st_mtime_ns for p in (out / "shards").iterdir()}
    assert run_cli(out, tiny_root, tiny_suite, "--overlap-threshold", "0.5") == 1
    err = capsys.readouterr().err
    assert "holds shards of a different run spec" in err and "--no-resume" in err and "--overwrite" not in err
    assert {p.name: p.stat().st_mtime_ns for p in (out / "shards").iterdir()} == before  # nothing recomputed
    assert leftovers(out) == []


# ---- two runs into one folder -------------------------------------------------------------------------------
def test_a_second_run_into_a_locked_folder_stops_at_once(tiny_root, tiny_suite, tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from ovbench.runner.lock import RunLock; l = RunLock(sys.argv[1]).acquire();"
         " print('locked', flush=True); sys.stdin.read()", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert run_cli(out, tiny_root, tiny_suite) == 1
        err = capsys.readouterr().err
        assert f"is in use by another ovbench run (pid {holder.pid} on host {socket.gethostname()})" in err
        assert sorted(p.name for p in out.iterdir()) == [".ovbench.lock"]  # the holder's lock only: nothing computed
    finally:
        holder.communicate("")  # closes stdin: the holder exits and the kernel drops its lock
    assert run_cli(out, tiny_root, tiny_suite) == 0  # a dead holder never blocks
    assert leftovers(out) == []


def test_temporary_names_are_unique_per_writer(tmp_path):
    target = tmp_path / "t.csv"
    assert atomic.temp_path(target) != atomic.temp_path(target)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(30):
                write_table_atomic(target, [{"writer": k, "i": i}])
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and target.read_text().startswith("writer,i\n")
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


# ---- full disk ------------------------------------------------------------------------------------------------
class SmallDisk:
    """Fake file system with `budget` bytes: the atomic writer's one write primitive raises ENOSPC
    once the bytes written so far would exceed it (unprivileged tests cannot mount a small tmpfs)."""

    def __init__(self, budget: int | None) -> None:
        self.budget, self.used = budget, 0

    def __call__(self, fd: int, data: bytes) -> None:
        if self.budget is not None and self.used + len(data) > self.budget:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.used += len(data)
        REAL_WRITE(fd, data)


@pytest.fixture(scope="module")
def clean_run(tiny_root, tiny_suite, tmp_path_factory) -> tuple[Path, int]:
    """A run on an unlimited disk, and the bytes it wrote."""
    out = tmp_path_factory.mktemp("clean") / "out"
    disk = SmallDisk(None)
    mp = pytest.MonkeyPatch()
    mp.setattr(atomic, "_write_all", disk)
    try:
        ds = get_dataset("ade20k_panoptic_val", root=tiny_root)
        run_suite("simulated", {"seed": 1}, ds, load_suite(tiny_suite), RunOptions(out_dir=out, progress=False))
    finally:
        mp.undo()
    return out, disk.used


@pytest.mark.parametrize("fraction", [0.05, 0.6, 0.97])
def test_full_disk_leaves_no_results_and_resume_gives_identical_numbers(clean_run, fraction, tiny_root, tiny_suite, tmp_path,
                                                                          monkeypatch, capsys):
    ref, total = clean_run
    out = tmp_path / "out"
    monkeypatch.setattr(atomic, "_write_all", SmallDisk(int(total * fraction)))
    rc = run_cli(out, tiny_root, tiny_suite)
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.count("\n") == 0 and "Traceback" not in err
    assert "no space left on the device writing " + str(out) in err and "bytes needed" in err
    # the failed write named a real output path: "... writing <path> (<n> bytes needed, ..."
    assert not (out / "results.json").exists() and leftovers(out) == []
    if fraction > 0.9:  # every shard fits; the merge does not: none of its files may appear
        assert (out / "shards").is_dir() and not (out / "per_class.csv").exists() and not (out / "timing.json").exists()
    monkeypatch.setattr(atomic, "_write_all", SmallDisk(None))
    assert run_cli(out, tiny_root, tiny_suite) == 0  # resume on a disk with space
    assert numbers(out / "results.json") == numbers(ref / "results.json")
    for name in ("per_class.csv", "per_image.csv.gz", "diagnostics_pool_recall.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    assert leftovers(out) == []


def test_leftovers_of_a_killed_run_are_cleaned_on_resume(clean_run, tiny_root, tiny_suite, tmp_path):
    ref, _ = clean_run
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    (out / "results.json").unlink()
    (out / "shards" / f"{IMG2}.json").unlink()
    junk = [out / ".per_class.csv.tmp", out / f".{IMG1}.json.123.tmp", out / "shards" / f".{IMG2}.json.9.ab12cd34.tmp",
            out / ".pq.json.tmp"]
    for p in junk:
        p.write_text("half")
    (out / ".staging-999-deadbeef").mkdir()
    (out / ".staging-999-deadbeef" / "per_class.csv").write_text("half")
    assert run_cli(out, tiny_root, tiny_suite) == 0
    assert leftovers(out) == [] and not any(p.exists() for p in junk)
    assert numbers(out / "results.json") == numbers(ref / "results.json")


def test_out_of_space_in_pq_json_and_generate_is_one_line(tmp_path, monkeypatch, capsys):
    from ovbench.data.synthetic import generate_dataset

    data = tmp_path / "data"
    assert main(["generate", "--out", str(data), "--images", "2", "--height", "32", "--width", "48", "--predictions",
                 "--workers", "1", "--no-images"]) == 0
    capsys.readouterr()
    gt = next(data.rglob("ade20k_panoptic_val.json"))
    pred = next(p for p in data.rglob("*.json") if p != gt)
    monkeypatch.setattr(atomic, "_write_all", SmallDisk(0))
    assert main(["pq", "--gt-json", str(gt), "--pred-json", str(pred), "--workers", "1", "--json", str(tmp_path / "r" / "pq.json")]) == 1
    err = capsys.readouterr().err.strip()
    assert f"no space left on the device writing {tmp_path / 'r' / 'pq.json'} (" in err and "bytes needed" in err
    assert err.count("\n") == 0 and list((tmp_path / "r").iterdir()) == []
    with pytest.raises(OutputError, match="no space left on the device writing"):
        generate_dataset(tmp_path / "gen", 1, height=32, width=48, workers=1)
    assert [p for p in (tmp_path / "gen").rglob("*") if atomic.is_temp_name(p.name)] == []


def test_shards_of_one_run_lock_separately_and_clean_only_their_own_leftovers(clean_run, tiny_root, tiny_suite, tmp_path):
    from ovbench.runner.lock import RunLock

    locks = tmp_path / "locks"
    a, b = RunLock(locks, shard=(0, 2)).acquire(), RunLock(locks, shard=(1, 2)).acquire()  # side by side
    try:
        with pytest.raises(OutputError, match=rf"in use by another ovbench run \(pid {os.getpid()} on host "):
            RunLock(locks, shard=(0, 2)).acquire()
        with pytest.raises(OutputError, match=r"in use by a sharded ovbench run \(shard 0/2, pid "):
            RunLock(locks).acquire()
    finally:
        a.release()
        b.release()
    RunLock(locks).acquire().release()
    assert list(locks.iterdir()) == []

    ref, _ = clean_run
    out = tmp_path / "out"
    (out / "shards").mkdir(parents=True)
    other = out / "shards" / f".{IMG2}.json.77.0badc0de.tmp"  # shard 1/2's image: maybe being written right now
    own = out / "shards" / f".{IMG1}.json.77.0badc0de.tmp"
    other.write_text("half")
    own.write_text("half")
    assert run_cli(out, tiny_root, tiny_suite, "--shard", "0/2") == 0
    assert other.exists() and not own.exists()
    assert run_cli(out, tiny_root, tiny_suite, "--shard", "1/2") == 0  # the last shard merges
    assert not other.exists() and leftovers(out) == []
    assert numbers(out / "results.json") == numbers(ref / "results.json")
