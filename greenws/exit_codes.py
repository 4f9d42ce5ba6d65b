"""The exit codes of ``greenws run`` and ``greenws merge``: k6's, plus greenws's own from 120 up.

k6's (``errext/exitcodes``) keep their numbers so CI jobs written for k6 read the same. greenws adds
codes only for outcomes k6 has no word for, and keeps them clear of k6's range (97–110).
"""

from __future__ import annotations

__all__ = ["EXIT"]

EXIT = {
    "ok": 0,
    "thresholds": 99,
    "setup_timeout": 100,
    "teardown_timeout": 101,
    "config": 104,
    "interrupted": 105,
    "script": 107,
    "aborted": 108,
    # greenws's own
    "incomplete_output": 120,  # a file output (json, csv, html, --summary-export) lost samples
    "worker_lost": 121,  # a --workers worker ended without its final report
    # greenws merge: segments missing or duplicated, or runs of different scripts/options
    "incomplete_test": 122,
    # --barrier: not every runner checked in before --barrier-timeout (--barrier-missing fail)
    "barrier_timeout": 123,
}
