"""Where a run may write its files, checked with plain paths; and whole-file writes that fail."""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenws.outputs.file_destination import (
    DestinationError,
    check_destination,
    destination_problem,
    write_atomically,
)


@contextlib.contextmanager
def file_size_limit(size: int) -> Iterator[None]:
    """Writes past ``size`` bytes fail with EFBIG (Python ignores SIGXFSZ): a full disk, no root."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_new_or_existing_file_in_a_writable_directory_is_fine(tmp_path: Path) -> None:
    assert destination_problem(str(tmp_path / "r.json")) is None
    (tmp_path / "old.json").write_text("{}", encoding="utf-8")
    assert destination_problem(str(tmp_path / "old.json")) is None


def test_a_relative_name_is_checked_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert destination_problem("r.json") is None
    assert destination_problem("nope/r.json") == "directory nope does not exist"


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "deeper"
    assert destination_problem(str(missing / "r.json")) == f"directory {missing} does not exist"


def test_a_file_where_the_directory_should_be(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("", encoding="utf-8")
    path = tmp_path / "plain" / "r.json"
    assert destination_problem(str(path)) == f"{tmp_path / 'plain'} is not a directory"


def test_a_directory_is_not_a_file_destination(tmp_path: Path) -> None:
    assert destination_problem(str(tmp_path)) == f"{tmp_path} is a directory"


def test_no_file_name() -> None:
    assert destination_problem("") == "no file name"


def test_a_directory_that_cannot_be_written(tmp_path: Path) -> None:
    if not os.access("/proc/sys", os.W_OK):  # read-only even for root in most containers
        directory = Path("/proc/sys")
    else:
        directory = tmp_path / "locked"
        directory.mkdir(mode=0o500)
        if os.access(directory, os.W_OK):
            pytest.skip("running as root on a machine where /proc/sys is writable")
    problem = destination_problem(str(directory / "r.json"))
    assert problem == f"directory {directory} is not writable"


def test_check_destination_names_the_flag_the_path_and_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "r.json"
    with pytest.raises(DestinationError) as raised:
        check_destination(f"--out json={path}", str(path))
    assert str(raised.value) == f"--out json={path}: directory {tmp_path / 'nope'} does not exist"
    assert isinstance(raised.value, ValueError)  # plugins' configure errors are ValueErrors
    check_destination("--out json=ok", str(tmp_path / "ok.json"))  # no problem: no exception


def test_write_atomically_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_bytes(b"old")
    write_atomically(str(path), b"new content")
    assert path.read_bytes() == b"new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]  # no temporary left


def test_a_failed_write_leaves_nothing_that_looks_like_the_file(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_bytes(b"an earlier run's export")
    with file_size_limit(1000), pytest.raises(OSError) as raised:
        write_atomically(str(path), b"x" * 5000)
    assert raised.value.errno == 27  # EFBIG
    # Neither a truncated file, nor the earlier run's file passing for this one's.
    assert list(tmp_path.iterdir()) == []
