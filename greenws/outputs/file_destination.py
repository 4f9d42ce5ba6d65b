"""The files a run writes (``--out json=…``, ``csv=…``, ``html=…``, ``--summary-export``).

Two promises, kept in one place for every file output:

- A destination that cannot be written is an option error (exit 104) found before anything
  runs, not an hour of load whose samples all go nowhere: :func:`destination_problem` says why.
- A file that could not be written completely never passes for a complete one: whole-file
  artifacts are written beside their name and renamed into place (:func:`write_atomically`), and
  an output that lost part of its file says so through :class:`FileOutput`, which makes the run
  end with exit 120 after the summary.

Plain ``os`` calls only: no gevent, no sockets.
"""

from __future__ import annotations

import contextlib
import os

__all__ = [
    "DestinationError",
    "FileOutput",
    "check_destination",
    "destination_problem",
    "write_atomically",
]


class DestinationError(ValueError):
    """A file destination cannot be written; the CLI prints it as one line and exits 104."""


class FileOutput:
    """Base of outputs whose product is a file (JSON, CSV, HTML; third-party ones may use it too).

    The engine looks for it at the end of the run: when such an output lost samples, or its
    ``greenws_output_stop`` failed, its file is not the whole run and the exit code says so (120).
    """

    #: Where the file goes.
    path: str = ""
    #: Why the file is incomplete, in a few words the summary can print (None while it is whole).
    failure: str | None = None


def destination_problem(path: str) -> str | None:
    """Why ``path`` cannot be created or replaced as a file, or None when it can.

    Checks what is cheap and certain before a run: the directory exists, is a directory and may
    be written to, and ``path`` is not itself a directory (nor an existing read-only file). A
    full disk can only be found by writing, so outputs still count what they could not write.
    """
    if not path:
        return "no file name"
    if os.path.isdir(path):
        return f"{path} is a directory"
    directory = os.path.dirname(path) or "."
    if not os.path.exists(directory):
        return f"directory {directory} does not exist"
    if not os.path.isdir(directory):
        return f"{directory} is not a directory"
    # Creating an entry needs write and search permission on the directory.
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"directory {directory} is not writable"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"{path} is not writable"
    return None


def check_destination(flag: str, path: str) -> None:
    """Raise :class:`DestinationError` ``"{flag}: {reason}"`` when ``path`` cannot be written.

    ``flag`` is how the user asked for the file (``--out json=r.json``), so the one error line
    points at the argument to fix.
    """
    problem = destination_problem(path)
    if problem is not None:
        raise DestinationError(f"{flag}: {problem}")


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    On failure (a full disk, a file-size limit) nothing is left at ``path``: not a truncated
    file, and not an older run's file that a release gate could mistake for this run's. The
    error is raised for the caller to report.
    """
    directory, name = os.path.split(path)
    # A plain open (not mkstemp) so the file gets the user's usual permissions (umask).
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        for leftover in (temporary, path):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        raise
