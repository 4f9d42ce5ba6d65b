"""The open-file limit: every WebSocket is a file descriptor, and the default soft limit is small.

A VU past the limit fails every dial at once with EMFILE. greenws raises the soft limit to the
hard one at start (as Locust does; raising the hard limit needs root, so that stays the user's
call) and says once, before any VU starts, when the planned VUs cannot all hold a socket.
"""

from __future__ import annotations

import resource

from greenws.runtime.logs import get_logger

__all__ = [
    "RESERVED_FILES",
    "open_files_warning",
    "raise_open_files_limit",
    "report_open_files",
]

#: Descriptors the process needs besides the VUs' sockets: outputs, pipes, the interpreter's own.
RESERVED_FILES = 64


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns ``(soft, hard)`` now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # a container may forbid it: keep what we have
            pass
    return soft, hard


def open_files_warning(planned_vus: int, soft: int, hard: int) -> str | None:
    """One line when ``planned_vus`` sockets (one each, at the least) cannot fit in ``soft``."""
    room = soft - RESERVED_FILES
    if planned_vus <= room:
        return None
    hard_text = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    return (
        f"{planned_vus} VUs are planned but this process may open only {soft} files "
        f"(ulimit -n; hard limit {hard_text}, {RESERVED_FILES} kept for greenws itself): VUs past "
        f"about {max(room, 0)} will fail to connect with EMFILE. Raise the hard limit (ulimit -Hn "
        "as root, LimitNOFILE for a service, --ulimit nofile for a container) or plan fewer VUs."
    )


def report_open_files(planned_vus: int | None) -> None:
    """At start: raise the soft limit, then one warning in the log if ``planned_vus`` cannot all connect
    (None: this process runs no VUs)."""
    soft, hard = raise_open_files_limit()
    if planned_vus is not None:
        warning = open_files_warning(planned_vus, soft, hard)
        if warning is not None:
            get_logger().warn(warning)
