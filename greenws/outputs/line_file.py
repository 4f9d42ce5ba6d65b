"""A file of whole lines that knows exactly which lines reached it: the JSON and CSV outputs' writer.

Why not a buffered text file: when the disk fills, a buffered writer has already accepted lines it
cannot write and may have written half of one, so the output can tell neither which samples are
in the file nor leave it ending on a complete line. Here a batch of lines is encoded once and
given to ``os.write`` on the raw descriptor (one call per batch, so the VUs' loop pays no syscall
per sample). A write can stop part-way near the limit, and the next one fails; either way the
file is cut back (``os.ftruncate``) to the last whole line, the caller learns how many of the
batch's lines are in the file, and nothing more is written after the first failure.

A ``.gz`` name gzip-compresses, as k6 does. Each batch ends with a sync flush, so the file always
decodes up to the last whole batch; a failed batch is cut back whole, and when the stream's end
marker cannot be written the file decodes fully but without it.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zlib

from greenws.outputs.file_destination import FileOutput
from greenws.plugins import hookimpl

__all__ = ["LineFile", "LineFileOutput"]


class _Collect:
    """Where the gzip compressor puts its bytes, so they can be written in one call."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.data = bytes(self.data), bytearray()
        return data


class LineFile:
    """Creates (or truncates) ``path`` and appends batches of lines to it."""

    def __init__(self, path: str) -> None:
        self.path = path
        #: Bytes in the file, every one of them part of a whole line (a whole batch, for gzip).
        self.size = 0
        #: The write that failed; after it nothing more is written.
        self.error: OSError | None = None
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(path, flags, 0o666)
        self._gzip: gzip.GzipFile | None = None
        self._compressed = _Collect()
        if path.endswith(".gz"):
            self._gzip = gzip.GzipFile(filename=path, mode="wb", fileobj=self._compressed)

    def write_lines(self, lines: list[str]) -> int:
        """Append ``lines`` (each without its ``\\n``); returns how many are now wholly in the file.

        Less than ``len(lines)`` means the write failed (see :attr:`error`) and the file was cut
        back to its last whole line; from then on every call writes nothing and returns 0.
        """
        if self.error is not None or self._fd is None:
            return 0
        if not lines:
            return 0
        lines.append("")  # a newline after the last line too, without copying the text again
        data = "\n".join(lines).encode("utf-8")
        lines.pop()
        if self._gzip is not None:
            self._gzip.write(data)
            self._gzip.flush(zlib.Z_SYNC_FLUSH)
            data = self._compressed.take()
        written = self._write(data)
        if written == len(data):
            self.size += written
            return len(lines)
        kept_lines, kept_bytes = 0, 0
        if self._gzip is None:  # a compressed batch cannot be cut at a line: it goes whole
            kept_lines, kept_bytes = _whole_lines(lines, written)
        self._cut_back(self.size + kept_bytes)
        return kept_lines

    def close(self) -> None:
        """End the gzip stream (if any) and close the file.

        Raises the ``OSError`` when the gzip end marker could not be written: the batches before
        it still decode, but the stream is unfinished. An earlier failure is not raised again.
        """
        if self._fd is None:
            return
        failed = None
        try:
            if self._gzip is not None and self.error is None:
                self._gzip.close()
                tail = self._compressed.take()
                if self._write(tail) == len(tail):
                    self.size += len(tail)
                else:
                    self._cut_back(self.size)
                    failed = self.error
        finally:
            os.close(self._fd)
            self._fd = None
        if failed is not None:
            raise failed

    def _write(self, data: bytes) -> int:
        """Write all of ``data`` if possible; returns the bytes written (short after a failure)."""
        fd = self._fd
        assert fd is not None
        view = memoryview(data)
        done = 0
        while done < len(data):
            try:
                done += os.write(fd, view[done:])
            except OSError as error:
                self.error = error
                break
        return done

    def _cut_back(self, size: int) -> None:
        """Leave the file ``size`` bytes long: only whole lines (or whole gzip batches)."""
        assert self._fd is not None
        # Shrinking needs no space; should it fail anyway, the write error is reported already.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, size)
        self.size = size


def _whole_lines(lines: list[str], written: int) -> tuple[int, int]:
    """How many of ``lines`` (and how many bytes) fit wholly, with their newline, in ``written``."""
    kept, used = 0, 0
    for line in lines:
        end = used + len(line.encode("utf-8")) + 1
        if end > written:
            break
        kept, used = kept + 1, end
    return kept, used


class LineFileOutput(FileOutput):
    """A file output that writes through a :class:`LineFile` (JSON lines, CSV): it closes the
    file at the end of the run, and says why when it cannot (the run then exits 120)."""

    _file: LineFile | None = None

    @hookimpl
    def greenws_output_stop(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()
            except OSError as error:
                self.failure = f"could not finish {self.path}: {error}"
                raise
