"""``console``: k6's global ``console`` object, for scripts ported from k6.

``console.log("connected")`` in k6 is a log line on stderr, ``INFO[0003] connected
source=console`` on a terminal, not output mixed into the summary. Here too: every method joins
its arguments as ``print`` would (``str()`` of each, separated by spaces) and hands the text to
the run's logger (:mod:`greenws.runtime.logs`), so ``--log-output``, ``--log-format`` and
``--verbose`` apply exactly as they do to greenws's own error lines.
"""

from __future__ import annotations

from greenws.runtime.logs import get_logger

__all__ = ["Console", "console"]

_FIELDS = {"source": "console"}  # k6 tags every console line with its source


def _text(args: tuple[object, ...]) -> str:
    return " ".join(str(arg) for arg in args)


class Console:
    """``log``/``info`` (level info), ``debug`` (only with ``-v``), ``warn``, ``error``."""

    def log(self, *args: object) -> None:
        """Log at level info, as k6's ``console.log``."""
        get_logger().info(_text(args), _FIELDS)

    def info(self, *args: object) -> None:
        """Log at level info."""
        get_logger().info(_text(args), _FIELDS)

    def debug(self, *args: object) -> None:
        """Log at level debug: shown only with ``--verbose``/``-v``, as in k6."""
        logger = get_logger()
        if logger.enabled("debug"):  # don't build text nobody will see
            logger.debug(_text(args), _FIELDS)

    def warn(self, *args: object) -> None:
        """Log at level warning (``WARN`` on a terminal)."""
        get_logger().warn(_text(args), _FIELDS)

    def error(self, *args: object) -> None:
        """Log at level error (``ERRO`` on a terminal)."""
        get_logger().error(_text(args), _FIELDS)


#: The one ``console`` a script imports: ``from greenws import console``.
console = Console()
