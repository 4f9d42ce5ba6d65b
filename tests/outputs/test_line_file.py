"""LineFile: the file keeps whole lines only, and the caller learns exactly which lines reached it.

A full disk is a file-size limit here (``RLIMIT_FSIZE``; Python ignores SIGXFSZ, so writes past
it fail with EFBIG and the one at the boundary writes part of its data), no root needed.
"""

from __future__ import annotations

import errno
import gzip
import os
import zlib
from pathlib import Path

import pytest
from test_file_destination import file_size_limit

from greenws.outputs.line_file import LineFile


def decode_gzip_prefix(data: bytes) -> bytes:
    """What a decompressor gets out of a gzip file that may lack its end marker."""
    return zlib.decompressobj(31).decompress(data)


def test_whole_batches_are_written_as_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    file = LineFile(str(path))
    assert file.write_lines(["a", "bé"]) == 2
    assert file.write_lines([]) == 0
    assert file.write_lines(["c"]) == 1
    file.close()
    assert path.read_bytes() == "a\nbé\nc\n".encode()
    assert file.size == len(path.read_bytes())
    assert file.error is None


def test_a_write_cut_at_the_limit_leaves_only_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    file = LineFile(str(path))
    line = "é" * 9  # 18 bytes + newline: the limit falls inside a multi-byte character
    with file_size_limit(100):
        assert file.write_lines([line] * 3) == 3  # 57 bytes
        kept = file.write_lines([line] * 4)  # 76 more: 2 whole lines fit in the next 43 bytes
        assert kept == 2
        assert file.error is not None and file.error.errno == errno.EFBIG
        assert file.write_lines(["x"]) == 0  # nothing more after the first failure
        file.close()
    data = path.read_bytes()
    assert data == f"{line}\n".encode() * 5
    assert file.size == len(data) == 95


def test_a_write_that_fails_at_once_keeps_the_earlier_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    file = LineFile(str(path))
    with file_size_limit(10):
        assert file.write_lines(["header"]) == 1  # 7 bytes
        assert file.write_lines(["row"]) == 0  # 4 more would reach 11: 3 bytes written, cut
        file.close()
    assert path.read_bytes() == b"header\n"


def test_gzip_keeps_whole_batches_and_decodes(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson.gz"
    file = LineFile(str(path))
    with file_size_limit(300):
        assert file.write_lines(["first", "batch"]) == 2
        size = path.stat().st_size
        # Random lines do not compress: this batch cannot fit and goes whole.
        noise = [os.urandom(30).hex() for _ in range(40)]
        assert file.write_lines(noise) == 0
        assert file.error is not None
        file.close()  # no end marker is written after a failure; earlier batches still decode
    data = path.read_bytes()
    assert len(data) == size == file.size
    assert decode_gzip_prefix(data) == b"first\nbatch\n"


def test_gzip_that_ends_well_is_an_ordinary_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson.gz"
    file = LineFile(str(path))
    file.write_lines(["one"])
    file.write_lines(["two", "three"])
    file.close()
    assert gzip.decompress(path.read_bytes()) == b"one\ntwo\nthree\n"


def test_gzip_end_marker_that_cannot_be_written_is_raised(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson.gz"
    file = LineFile(str(path))
    file.write_lines(["one"])
    with file_size_limit(file.size), pytest.raises(OSError):
        file.close()
    assert decode_gzip_prefix(path.read_bytes()) == b"one\n"
    assert path.stat().st_size == file.size
