"""Finding protocol kits by name: built-ins, plugins' kits, and the errors for names that
clash or do not exist."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from greenws import kits
from greenws.plugins import hookimpl
from greenws.plugins.manager import make_plugin_manager


def plugin_with(**declared: object) -> types.SimpleNamespace:
    @hookimpl
    def greenws_protocol_kits() -> dict[str, object]:
        return declared

    return types.SimpleNamespace(greenws_protocol_kits=greenws_protocol_kits)


def test_kits_of_plugins_are_collected_by_name() -> None:
    manager = make_plugin_manager(load_entry_points=False)
    kit = types.SimpleNamespace(connect=lambda url: url)
    manager.register(plugin_with(signalr=kit), name="company-signalr")
    assert kits.collect(manager) == {"signalr": kit}


@pytest.mark.parametrize(
    ("first", "second", "says"),
    [
        ({"mqtt": 1}, None, "'mqtt' is declared by both greenws and one"),
        ({"x": 1}, {"x": 2}, "'x' is declared by both one and two"),
    ],
)
def test_a_name_declared_twice_is_an_error_naming_both(first, second, says) -> None:
    manager = make_plugin_manager(load_entry_points=False)
    manager.register(plugin_with(**first), name="one")
    if second is not None:
        manager.register(plugin_with(**second), name="two")
    with pytest.raises(ValueError, match=says):
        kits.collect(manager)


def test_an_unknown_kit_says_which_there_are() -> None:
    kits.install({"custom": object()})
    try:
        with pytest.raises(kits.UnknownKit, match=r"no protocol kit 'nope' .*custom.*jsonrpc"):
            kits.get("nope")
        assert kits.get("jsonrpc").__name__ == "greenws.kits.jsonrpc"
    finally:
        kits._PLUGIN_KITS = None


def test_a_clash_stops_the_command_line_with_a_config_error(tmp_path) -> None:
    (tmp_path / "clash.py").write_text(
        "from greenws.plugins import hookimpl\n"
        "@hookimpl\n"
        "def greenws_protocol_kits():\n"
        "    return {'stomp': object()}\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "greenws", "-p", "clash", "run", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert run.returncode == 104, run.stderr
    assert "protocol kit 'stomp' is declared by both greenws and clash" in run.stderr
