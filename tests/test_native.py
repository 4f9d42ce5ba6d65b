"""The compiled hot-path modules: which one is loaded, the pure switch, and the same behaviour.

``pip install -e .`` compiles ``greenws/native_modules.txt``'s modules with mypyc when it can
(setup.py). These tests prove that ``GREENWS_PURE_PYTHON=1`` loads every one from its source, that
a build is used when present and current, that a stale one is never used, and that the compiled and
the pure protocol core turn the same bytes into the same events and frames. Each interpreter is a
fresh subprocess: which file a module came from is decided once, at its first import.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = (ROOT / "greenws" / "native_modules.txt").read_text().split()
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")

LOADED = """
import json, importlib, greenws.native as native
for name in native.MODULES:
    importlib.import_module(name)
print(json.dumps(native.compiled_modules()))
"""


def run_python(code: str, *, pure: bool, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GREENWS_PURE_PYTHON"}
    env["PYTHONPATH"] = str(root)
    if pure:
        env["GREENWS_PURE_PYTHON"] = "1"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def extension_of(name: str, root: Path = ROOT) -> Path:
    return root.joinpath(*name.split(".")).with_name(name.rsplit(".", 1)[1] + SUFFIX)


def built() -> bool:
    """A current build of every listed module is in this tree: each module's shim, and the
    shared library holding their code, newer than every source."""
    library = extension_of("greenws._compiled__mypyc")
    if not library.exists() or not all(extension_of(name).exists() for name in MODULES):
        return False
    newest = max(ROOT.joinpath(*n.split(".")).with_suffix(".py").stat().st_mtime for n in MODULES)
    return library.stat().st_mtime >= newest


def test_the_switch_loads_every_listed_module_from_its_source() -> None:
    loaded = json.loads(run_python(LOADED, pure=True).stdout)
    assert loaded == dict.fromkeys(MODULES, False)


def test_a_current_build_is_what_runs() -> None:
    loaded = json.loads(run_python(LOADED, pure=False).stdout)
    assert loaded == dict.fromkeys(MODULES, built())


def test_a_stale_build_is_never_used(tmp_path: Path) -> None:
    """An extension older than its source would run the old code: all sources, and a warning.

    The extension planted here is not even loadable, so loading it would fail the import.
    """
    shutil.copytree(ROOT / "greenws", tmp_path / "greenws", ignore=shutil.ignore_patterns("*.so"))
    shutil.copy(ROOT / "setup.py", tmp_path / "setup.py")  # a source tree, not an installed wheel
    for name in MODULES:  # sources written at 0.9e9, built at 1e9
        os.utime(tmp_path.joinpath(*name.split(".")).with_suffix(".py"), (9e8, 9e8))
    for name in [*MODULES, "greenws._compiled__mypyc"]:
        fake = extension_of(name, tmp_path)
        fake.write_bytes(b"not an ELF file")
        os.utime(fake, (1_000_000_000, 1_000_000_000))
    edited = tmp_path.joinpath(*MODULES[-1].split(".")).with_suffix(".py")
    os.utime(edited, (1_000_000_100, 1_000_000_100))  # edited after the build
    result = run_python(LOADED, pure=False, root=tmp_path)
    assert json.loads(result.stdout) == dict.fromkeys(MODULES, False)
    assert f"{MODULES[-1]} changed since it was compiled" in result.stderr
    assert MODULES[0] not in result.stderr  # only the edited one is named


def test_a_module_built_without_its_library_is_never_used(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "greenws", tmp_path / "greenws", ignore=shutil.ignore_patterns("*.so"))
    shutil.copy(ROOT / "setup.py", tmp_path / "setup.py")
    extension_of(MODULES[0], tmp_path).write_bytes(b"not an ELF file")
    result = run_python(LOADED, pure=False, root=tmp_path)
    assert json.loads(result.stdout) == dict.fromkeys(MODULES, False)
    assert f"{MODULES[0]} changed since it was compiled" in result.stderr


#: Frames (server to client, unmasked) and the chunk sizes they arrive in; the program prints
#: every event and every byte the client queues or sends, to be compared between the two builds.
EXCHANGE = r"""
import json, random
from greenws.protocol import ClientProtocol, PerMessageDeflate, DeflateParams

def frame(first, payload):
    size = len(payload)
    if size < 126:
        head = bytes((first, size))
    elif size < 65536:
        head = bytes((first, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((first, 127)) + size.to_bytes(8, "big")
    return head + payload

rng = random.Random(19)
stream = b"".join(
    [frame(0x81, b"x" * 32), frame(0x82, bytes(range(200))), frame(0x89, b"ping"),
     frame(0x01, "h\u00e9".encode()[:2]), frame(0x80, "h\u00e9".encode()[2:]),
     frame(0x8A, b"1"), frame(0x81, "\u00e9t\u00e9".encode() * 30000),
     frame(0x81, b"\xff"), frame(0x88, (1000).to_bytes(2, "big"))])
masks = iter(range(1, 10**6))
source = lambda n: bytes(next(masks) % 256 for _ in range(n))
out = []
for chunking in (1, 7, 64, len(stream)):
    p = ClientProtocol(max_message_size=1 << 20, mask_source=source)
    out.append(p.send_text("hello \u00e9" * chunking))
    out.append(p.send_binary(bytes(range(chunking % 256))))
    out.append(p.send_ping(b"7"))
    for start in range(0, len(stream), chunking):
        out.extend(repr(e) for e in p.receive_data(stream[start:start + chunking]))
        out.append(p.data_to_send())
    out.extend(repr(e) for e in p.receive_eof())
    out.append((p.state, p.close_code, p.close_reason))
p = ClientProtocol(mask_source=source, compression=PerMessageDeflate(DeflateParams()))
out.append(type(p).__name__)
out.append(p.send_text("compressed " * 50))
print(json.dumps([repr(x) for x in out]))
"""


@pytest.fixture(scope="module")
def compiled_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This tree if it holds a current build, else a copy built here as ``pip install -e .``
    would (about a minute of mypyc and gcc), so the comparison never runs pure against pure."""
    if built():
        return ROOT
    copy = tmp_path_factory.mktemp("compiled")
    shutil.copytree(ROOT / "greenws", copy / "greenws", ignore=shutil.ignore_patterns("*.so"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=copy,
        capture_output=True,
        timeout=600,
        check=True,
    )
    return copy


@pytest.mark.timeout(900)
def test_compiled_and_pure_protocol_agree(compiled_tree: Path) -> None:
    loaded = json.loads(run_python(LOADED, pure=False, root=compiled_tree).stdout)
    assert loaded == dict.fromkeys(MODULES, True)  # else the build fell back to pure Python
    compiled = json.loads(run_python(EXCHANGE, pure=False, root=compiled_tree).stdout)
    pure = json.loads(run_python(EXCHANGE, pure=True, root=compiled_tree).stdout)
    assert len(compiled) > 40
    assert compiled == pure
