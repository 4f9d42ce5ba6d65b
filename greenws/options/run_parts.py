"""Which part of which test a run was, and whether a set of runs makes one whole test. Pure.

A distributed test is several ``greenws run --execution-segment A:B --execution-segment-sequence
POINTS`` processes, one per load generator, whose ``--summary-export`` files ``greenws merge``
adds up. What goes wrong between machines is silent in the numbers: a pod that was lost leaves
its segment out, a retried one counts its segment twice, a runner started from another version of
the script measures another test. So every run records a *part*: its segment, the sequence, and
fingerprints of the script and of the options that shape the load. :func:`check_parts` names
every problem of a set of parts; ``greenws merge`` refuses an incomplete test unless told
``--allow-partial``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from greenws.options.segments import (
    SegmentError,
    execution_tuple,
    parse_segment,
)

__all__ = ["PartsReport", "check_parts", "options_fingerprint", "run_part", "script_fingerprint"]

#: The options that decide what load a test puts on the target. Two runners that disagree on any
#: of these are not segments of one test. Segment, sequence and localIPs differ by design; tags,
#: summary and colour settings do not change the load; thresholds are merged as a union.
_LOAD_OPTIONS = (
    "vus",
    "duration",
    "iterations",
    "stages",
    "scenarios",
    "graceful_stop",
    "setup_timeout",
    "teardown_timeout",
    "max_message_size",
    "user_agent",
    "no_cookies_reset",
    "insecure_skip_tls_verify",
)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def script_fingerprint(source: bytes) -> str:
    """A short SHA-256 of the script's bytes."""
    return _digest(source)


def options_fingerprint(options: Any) -> str:
    """A short SHA-256 of the load-shaping options of a resolved ``Options``."""
    values = {name: getattr(options, name, None) for name in _LOAD_OPTIONS}
    return _digest(json.dumps(values, sort_keys=True, default=repr).encode())


def run_part(
    *,
    segment: str | None,
    sequence: str | None,
    script: str,
    script_sha: str,
    options_sha: str,
) -> dict[str, Any]:
    """The part one run was, as its export records it (``greenws_state.parts``)."""
    full = execution_tuple(segment, sequence)
    return {
        "segment": str(full.segment),
        "sequence": str(full.sequence),
        "script": script,
        "script_sha256": script_sha,
        "options_sha256": options_sha,
    }


@dataclass
class PartsReport:
    """What :func:`check_parts` found; ``problems`` is empty for one whole test."""

    problems: list[str] = field(default_factory=list)
    #: Segments the sequence has that no file holds (``"2/3:1"``).
    missing: list[str] = field(default_factory=list)
    #: Segments more than one file holds, with those files.
    duplicated: dict[str, list[str]] = field(default_factory=dict)
    #: The share of the whole test the files cover (duplicates counted once).
    covered: Fraction = Fraction(0)
    sequence: str = ""

    @property
    def complete(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, for the merged export's ``greenws.partial``."""
        return {
            "problems": list(self.problems),
            "missing_segments": list(self.missing),
            "duplicated_segments": {k: list(v) for k, v in self.duplicated.items()},
            "covered": str(self.covered),
            "sequence": self.sequence,
        }


def _differs(
    parts: Sequence[tuple[str, Mapping[str, Any]]], key: str, what: str, show: str
) -> str | None:
    groups: dict[Any, list[str]] = {}
    for name, part in parts:
        groups.setdefault(part.get(key), []).append(name)
    if len(groups) < 2:
        return None
    shown = "; ".join(
        f"{', '.join(names)}: {next(p.get(show) for n, p in parts if n == names[0])} ({value})"
        for value, names in groups.items()
    )
    return f"the runs are of different {what}: {shown}"


def check_parts(parts: Sequence[tuple[str, Mapping[str, Any]]]) -> PartsReport:
    """Check that ``(file name, part)`` pairs make exactly one whole test.

    Problems, each one line naming the files or segments: runs of different scripts, of
    different load options, of different sequences; a segment in more than one file; a segment
    of the sequence in none.

    Runs that were not segmented at all (each the whole test, sequence ``0,1``) claim no part
    of a bigger test: they are independent runs side by side, merged as before with nothing to
    check.
    """
    report = PartsReport()
    if all(str(part.get("sequence", "0,1")) == "0,1" for _, part in parts):
        report.covered, report.sequence = Fraction(1), "0,1"
        return report
    for key, what, show in (
        ("script_sha256", "scripts", "script"),
        ("options_sha256", "options (vus, duration, stages, scenarios…)", "script"),
        ("sequence", "execution segment sequences", "sequence"),
    ):
        problem = _differs(parts, key, what, show)
        if problem:
            report.problems.append(problem)
    holders: dict[str, list[str]] = {}
    for name, part in parts:
        holders.setdefault(str(part.get("segment", "0:1")), []).append(name)
    for segment, names in holders.items():
        if len(names) > 1:
            report.duplicated[segment] = names
            report.problems.append(
                f"segment {segment} is in {len(names)} files ({', '.join(names)}): "
                "its load would be counted more than once"
            )
    # The expected segments: the first file's sequence (a mismatch was reported above).
    try:
        first = parts[0][1] if parts else {}
        points = execution_tuple(first.get("segment"), first.get("sequence"))
        expected = [str(segment) for segment in points.sequence.segments]
        report.sequence = str(points.sequence)
    except SegmentError as error:
        report.problems.append(f"unreadable execution segment sequence: {error}")
        return report
    report.missing = [segment for segment in expected if segment not in holders]
    if report.missing:
        plural = "s" if len(report.missing) > 1 else ""
        report.problems.append(
            f"segment{plural} {', '.join(report.missing)} of sequence {report.sequence} "
            f"{'are' if plural else 'is'} missing: {len(holders)} of {len(expected)} runs "
            "are here (a lost runner?)"
        )
    for segment in holders:
        try:
            parsed = parse_segment(segment)
        except SegmentError:
            continue
        if segment in expected:
            report.covered += parsed.length
    return report
