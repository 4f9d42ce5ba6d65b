"""Misspelled hooks are errors at start; ``greenws plugins`` lists plugins, versions and hooks."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from greenws.plugins.listing import plugin_listing
from greenws.plugins.manager import PluginError, make_plugin_manager


def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        (
            "from greenws.plugins import hookimpl\n\n@hookimpl\ndef greenws_configur(config):\n    pass\n",
            "greenws_configur",
        ),
        ("def greenws_output_sampels(samples):\n    pass\n", "misspelled"),
        ("def greenws_configure(config):\n    pass\n", "not marked"),
    ],
    ids=["marked-typo", "unmarked-typo", "marker-forgotten"],
)
def test_misspelled_hook_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, detail: str
) -> None:
    module = write_module(tmp_path, monkeypatch, "greenws_typo_plugin", source)
    with pytest.raises(PluginError, match=detail):
        make_plugin_manager([module], load_entry_points=False)


def test_listing_names_plugins_versions_and_hooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = """
    from greenws.plugins import hookimpl

    @hookimpl
    def greenws_addoption(parser):
        pass

    @hookimpl
    def greenws_configure(config):
        pass
    """
    module = write_module(tmp_path, monkeypatch, "greenws_listed_plugin", source)
    text = plugin_listing(make_plugin_manager([module, "no:csv_output"]))
    plugins = text.split("\n\n", 1)[0]  # then the --out kinds (test_output_kinds.py)
    lines = {line.split()[0]: line for line in plugins.splitlines()}
    assert "greenws==" in lines["json_lines"] and "greenws_configure" in lines["json_lines"]
    assert "csv_output" not in lines  # blocked
    assert "-p module" in lines[module]
    assert "greenws_addoption, greenws_configure" in lines[module]
    assert "greenws-influxdb==" in lines["influxdb"]  # the installed entry point
