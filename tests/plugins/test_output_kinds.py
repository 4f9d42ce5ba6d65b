"""Every ``--out`` kind is listed with the distribution that provides it, before anything runs.

``greenws run --help``, ``greenws plugins`` and the error for an unknown kind all read the
kinds plugins declare in ``greenws_output_kinds``; a plugin written before that hook existed
still works, is listed as undeclared, and the kinds it claims still reach the error. The managers
here are real ones (built-ins, the installed entry points, ``-p`` modules written by the test).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from greenws_runner import ROOT, run_greenws

from greenws.plugins.catalog import (
    OutputKind,
    declared_outputs,
    undeclared_plugins,
    unknown_output_error,
)
from greenws.plugins.listing import plugin_listing
from greenws.plugins.manager import PluginError, make_plugin_manager

DECLARING_PLUGIN = """
from greenws.plugins import hookimpl

@hookimpl
def greenws_output_kinds():
    return {"declared-kind": "FILE: what the test plugin writes"}

@hookimpl
def greenws_configure(config):
    config.claim_outputs("declared-kind")
"""

#: A plugin as written before ``greenws_output_kinds`` existed: it claims, declares nothing.
OLD_STYLE_PLUGIN = """
from greenws.plugins import hookimpl

@hookimpl
def greenws_configure(config):
    config.claim_outputs("old-kind")
"""

BUILTIN_KINDS = {"json": "json_lines", "csv": "csv_output", "html": "html_report"}


def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


def greenws(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m greenws ARGS`` with entry points on (even if the caller turned them off) and
    this tree's InfluxDB plugin first on the path, whatever copy of it is installed."""
    path = os.pathsep.join([str(ROOT), str(ROOT / "plugins" / "greenws-influxdb")])
    child = {**os.environ, "GREENWS_DISABLE_PLUGIN_AUTOLOAD": "", "PYTHONPATH": path, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "greenws", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=child,
        stdin=subprocess.DEVNULL,
    )


def kind_rows(text: str) -> dict[str, str]:
    """The rows of the ``--out kinds`` table in ``text``, by their first word."""
    table = text.split("--out kinds", 1)[1].splitlines()[1:]
    return {line.split()[0]: line for line in table if line.startswith("  ")}


def test_builtins_and_the_influxdb_distribution_declare_their_kinds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declaring = write_module(tmp_path, monkeypatch, "greenws_declaring_plugin", DECLARING_PLUGIN)
    old = write_module(tmp_path, monkeypatch, "greenws_old_style_plugin", OLD_STYLE_PLUGIN)
    manager = make_plugin_manager([declaring, old], load_entry_points=True)
    kinds = {item.kind: item for item in declared_outputs(manager)}
    for kind, plugin in BUILTIN_KINDS.items():
        assert kinds[kind].plugin == plugin and kinds[kind].origin.startswith("greenws=="), kind
        assert kinds[kind].help, kind
    for kind in ("influxdb", "influxdb2"):  # its own distribution, found through its entry point
        assert kinds[kind].distribution == "greenws-influxdb", kinds[kind]
    assert kinds["declared-kind"] == OutputKind(
        "declared-kind", "FILE: what the test plugin writes", declaring, "-p module"
    )
    assert "old-kind" not in kinds  # only a run would show it
    undeclared = dict(undeclared_plugins(manager))
    assert undeclared[old] == "-p module"
    assert "console" not in undeclared  # it declares that it claims no kind


def test_greenws_plugins_lists_every_kind_with_its_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = write_module(tmp_path, monkeypatch, "greenws_old_style_plugin", OLD_STYLE_PLUGIN)
    text = plugin_listing(make_plugin_manager([old, "no:csv_output"], load_entry_points=True))
    rows = kind_rows(text)
    assert "greenws==" in rows["json"] and "json_lines" in rows["json"]
    assert "greenws==" in rows["html"]
    assert "csv" not in rows  # its plugin is blocked
    assert "greenws-influxdb==" in rows["influxdb"] and "greenws-influxdb==" in rows["influxdb2"]
    undeclared = [line for line in text.splitlines() if line.startswith("  (undeclared)")]
    assert any(old in line for line in undeclared), undeclared  # several may share the word


@pytest.mark.parametrize(
    ("declaration", "detail"),
    [("['json']", "must return a dict"), ("{'a=b': 'x'}", "no '='"), ("1 / 0", "ZeroDivision")],
    ids=["a-list", "kind-with-equals", "raises"],
)
def test_a_bad_declaration_names_its_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, declaration: str, detail: str
) -> None:
    source = (
        "from greenws.plugins import hookimpl\n\n@hookimpl\ndef greenws_output_kinds():\n"
        f"    return {declaration}\n"
    )
    module = write_module(tmp_path, monkeypatch, "greenws_bad_declaration", source)
    manager = make_plugin_manager([module], load_entry_points=False)
    with pytest.raises(PluginError, match=detail) as raised:
        declared_outputs(manager)
    assert module in str(raised.value)


def test_the_unknown_kind_error_suggests_and_lists_distributions() -> None:
    kinds = [
        OutputKind("json", "FILE", "json_lines", "greenws==0.1.0"),
        OutputKind("influxdb", "URL", "influxdb", "greenws-influxdb==0.1.0"),
    ]
    text = unknown_output_error("jsno", kinds)
    assert "unknown output 'jsno'" in text and "did you mean 'json'?" in text
    assert "json (greenws)" in text and "influxdb (greenws-influxdb)" in text
    assert "did you mean" not in unknown_output_error("parquet", kinds)
    declared_only = unknown_output_error("influxdb", kinds)  # declared, then not claimed
    assert "plugin influxdb (greenws-influxdb) declares this kind but did not claim it" in (
        declared_only
    )


def test_run_help_lists_every_kind_with_its_distribution() -> None:
    result = greenws("run", "--help")
    assert result.returncode == 0, result.stderr
    rows = kind_rows(result.stdout)
    for kind in BUILTIN_KINDS:
        assert "greenws==" in rows[kind], rows
    assert "greenws-influxdb==" in rows["influxdb"] and "greenws-influxdb==" in rows["influxdb2"]


def test_help_and_error_name_an_entry_point_plugins_distribution(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "greenws_declaring_plugin.py").write_text(DECLARING_PLUGIN, encoding="utf-8")
    dist_info = site / "greenws_declaring_dist-2.5.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: greenws-declaring-dist\nVersion: 2.5\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[greenws]\ndeclaring = greenws_declaring_plugin\n", encoding="utf-8"
    )
    path = os.pathsep.join([str(ROOT), str(ROOT / "plugins" / "greenws-influxdb"), str(site)])
    help_text = greenws("run", "--help", env={"PYTHONPATH": path})
    assert help_text.returncode == 0, help_text.stderr
    assert "greenws-declaring-dist==2.5" in kind_rows(help_text.stdout)["declared-kind"]

    result = run_greenws(
        tmp_path,
        "def default():\n    pass\n",
        "--out",
        "declared-kidn",
        env={"PYTHONPATH": path, "GREENWS_DISABLE_PLUGIN_AUTOLOAD": ""},
        outputs=False,
    )
    assert result.returncode == 104, result.stderr
    assert "did you mean 'declared-kind'?" in result.stderr
    assert "declared-kind (greenws-declaring-dist)" in result.stderr


def test_an_old_style_plugins_claimed_kind_is_in_the_error_and_it_still_runs(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "greenws_old_style_plugin.py").write_text(OLD_STYLE_PLUGIN, encoding="utf-8")
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    body = "def default():\n    pass\n"
    wrong = run_greenws(
        tmp_path, body, "-p", "greenws_old_style_plugin", "--out", "nope", env=env, outputs=False
    )
    assert wrong.returncode == 104, wrong.stderr
    (line,) = [line for line in wrong.stderr.splitlines() if line.strip()]
    assert "unknown output 'nope'" in line
    for text in ("old-kind (-p module)", "json (greenws)", "csv (greenws)", "html (greenws)"):
        assert text in line, line
    runs = run_greenws(
        tmp_path, body, "-p", "greenws_old_style_plugin", "--out", "old-kind", env=env
    )
    assert runs.returncode == 0, runs.stderr
