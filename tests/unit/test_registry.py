"""The lazy registry behind adapters, oracles, datasets and diagnostics."""

import importlib.metadata as md

import pytest

from ovbench.errors import RegistryError
from ovbench.registry import Registry


def test_lazy_entries_import_on_first_use_and_the_decorator_replaces_placeholders():
    r: Registry = Registry("thing")
    r.add("json_dumps", "json:dumps")
    import json

    assert r.get("json_dumps") is json.dumps
    r.add("late", "collections:OrderedDict")
    assert r.register("late")(dict) is dict and r.get("late") is dict  # a decorator may replace its placeholder
    with pytest.raises(RegistryError, match="duplicate thing name 'late'"):
        r.add("late", list)


def test_unknown_names_list_the_known_ones_and_suggest_close_matches():
    r: Registry = Registry("adapter")
    r.add("simulated", object)
    with pytest.raises(RegistryError, match=r"unknown adapter 'simulatd'; available: simulated\. Did you mean 'simulated'"):
        r.get("simulatd")


def test_entry_point_plugins_register_and_broken_ones_are_reported(monkeypatch):
    eps = [md.EntryPoint("good_plugin", "json:loads", "test.group"), md.EntryPoint("broken_plugin", "no_such_module_xyz:Thing", "test.group")]
    monkeypatch.setattr(md, "entry_points", lambda group=None: [e for e in eps if e.group == group])
    r: Registry = Registry("adapter", entry_point_group="test.group")
    assert r.names() == ["broken_plugin", "good_plugin"]
    import json

    assert r.get("good_plugin") is json.loads
    with pytest.raises(RegistryError, match="could not be imported from 'no_such_module_xyz'"):
        r.get("broken_plugin")
    with pytest.raises(RegistryError, match="Plugins that failed to import: broken_plugin"):
        r.get("other")
