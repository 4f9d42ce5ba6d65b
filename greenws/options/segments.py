"""Execution segments, k6's way of splitting one test between several greenws processes. Pure.

A *segment* ``a:b`` (``0 <= a < b <= 1``) is the part of the whole test one process runs; a
*sequence* ``0,1/3,2/3,1`` lists the points that cut the test into all of its segments. Each
process knows only its own segment and the sequence, yet the processes together run exactly the
load one process would: the VUs, the iterations and every arrival of an arrival-rate schedule are
dealt out so that the shares add up to the whole, with nothing run twice and nothing lost.

How the dealing works (k6's *striping*): with segment lengths ``n_i / L`` over their least common
denominator ``L``, positions ``0 … L-1`` of a repeating cycle are handed out one at a time; the
next position goes to the first segment, biggest first, whose share of positions so far is not
ahead of its length. So a segment of ``1/2`` takes every other position and two of ``1/4`` take
every fourth, interleaved rather than in blocks: a segment's share of the first ``N`` VUs (or
arrivals) is how many of its positions fall among them, for every ``N``. That is why shares add up
for every count and only ever grow as the count grows (a ramp never takes a VU back from one
segment to give it to another).

Numbers are exact :class:`fractions.Fraction` values, as k6 uses rationals, so ``1/3`` never
loses a VU to rounding.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = [
    "ExecutionSegment",
    "ExecutionTuple",
    "SegmentError",
    "SegmentSequence",
    "even_sequence",
    "execution_tuple",
    "parse_segment",
    "parse_sequence",
]


#: The longest striping cycle accepted from the user: it is computed position by position, and
#: ``0.1234567`` (a cycle of 10,000,000) is more likely a typo than a plan.
MAX_CYCLE = 1_000_000


class SegmentError(ValueError):
    """A segment or sequence k6 would reject; one line that names the value."""


def _fraction(text: str) -> Fraction:
    """``1/3``, ``0.25``, ``25%`` → a Fraction (k6 accepts these three spellings)."""
    raw = text.strip()
    try:
        if raw.endswith("%"):
            return Fraction(raw[:-1].strip()) / 100
        return Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise SegmentError(
            f"{text!r} is not a valid percentage, decimal or fraction (e.g. 25%, 0.25, 1/4)"
        ) from None


def _text(value: Fraction) -> str:
    """k6's spelling of a rational: ``0``, ``1``, ``1/3``."""
    return str(value.numerator) if value.denominator == 1 else str(value)


@dataclass(frozen=True, order=True)
class ExecutionSegment:
    """The part ``(start, end]`` of the whole test one process runs; ``0:1`` is all of it."""

    start: Fraction
    end: Fraction

    def __post_init__(self) -> None:
        if self.start < 0:
            raise SegmentError(f"segment start {_text(self.start)} must be at least 0")
        if self.end > 1:
            raise SegmentError(f"segment end {_text(self.end)} must not be more than 1")
        if self.start >= self.end:
            raise SegmentError(
                f"segment start {_text(self.start)} must be less than its end {_text(self.end)}"
            )

    @property
    def length(self) -> Fraction:
        """The fraction of the whole test this segment is."""
        return self.end - self.start

    def __str__(self) -> str:
        return f"{_text(self.start)}:{_text(self.end)}"


FULL = ExecutionSegment(Fraction(0), Fraction(1))


def parse_segment(text: str) -> ExecutionSegment:
    """``a:b`` → a segment; a single value ``b`` means ``0:b`` and an empty one ``0:1`` (k6)."""
    raw = text.strip()
    if not raw:
        return FULL
    start_text, colon, end_text = raw.partition(":")
    if not colon:
        start_text, end_text = "0", raw
    return ExecutionSegment(_fraction(start_text), _fraction(end_text))


def parse_sequence(text: str | Sequence[str | int | float]) -> tuple[Fraction, ...]:
    """``0,1/3,2/3,1`` (or a list of those values) → its points, strictly increasing in [0, 1].

    As in k6 the points need not start at 0 or end at 1: the gaps are filled with one segment
    each when the sequence is used.
    """
    parts = text.split(",") if isinstance(text, str) else [str(part) for part in text]
    points = tuple(_fraction(part) for part in parts)
    if len(points) < 2:
        raise SegmentError(
            f"a segment sequence needs at least 2 points, e.g. 0,1/2,1 (got {len(points)})"
        )
    for before, after in itertools.pairwise(points):
        ExecutionSegment(before, after)  # validates order and range
    return points


def sequence_text(points: Sequence[Fraction]) -> str:
    """The points as k6 writes them: ``0,1/3,2/3,1``."""
    return ",".join(_text(point) for point in points)


def even_sequence(count: int) -> list[str]:
    """The points that cut a test into ``count`` equal segments: ``0, 1/n, …, (n-1)/n, 1``.

    ``greenws run --workers N`` gives worker ``i`` the segment ``points[i]:points[i+1]``.
    """
    if count < 1:
        raise SegmentError(f"cannot split a test into {count} segments")
    return [_text(Fraction(index, count)) for index in range(count + 1)]


@dataclass(frozen=True)
class SegmentSequence:
    """A full sequence (from 0 to 1) with its striping: which cycle positions each segment owns.

    ``positions[i]`` are the positions in ``0 … lcd-1`` that segment ``i`` owns in every cycle of
    ``lcd`` (the least common denominator of the segment lengths). Global index ``k`` (a VU
    number, an iteration, an arrival) belongs to the segment owning ``k % lcd``.
    """

    points: tuple[Fraction, ...]
    lcd: int = field(init=False)
    positions: tuple[tuple[int, ...], ...] = field(init=False)
    #: ``owners[p]``: the segment owning cycle position ``p`` (the inverse of ``positions``).
    owners: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.points) < 2 or self.points[0] != 0 or self.points[-1] != 1:
            raise SegmentError(f"sequence {sequence_text(self.points)} must run from 0 to 1")
        lengths = [after - before for before, after in itertools.pairwise(self.points)]
        if any(length <= 0 for length in lengths):
            raise SegmentError(f"sequence {sequence_text(self.points)} must be increasing")
        lcd = math.lcm(*(length.denominator for length in lengths))
        shares = [int(length * lcd) for length in lengths]  # positions per cycle, sum == lcd
        # Biggest segments choose first (stable for equal ones): they are the hardest to keep
        # from taking consecutive positions.
        order = sorted(range(len(shares)), key=lambda index: -shares[index])
        taken = [0] * len(shares)
        owned: list[list[int]] = [[] for _ in shares]
        owners = []
        for position in range(lcd):
            for index in order:
                # Not ahead of its length: taken / share ≤ position / lcd.
                if position * shares[index] >= taken[index] * lcd:
                    taken[index] += 1
                    owned[index].append(position)
                    owners.append(index)
                    break
        object.__setattr__(self, "lcd", lcd)
        object.__setattr__(self, "positions", tuple(tuple(items) for items in owned))
        object.__setattr__(self, "owners", tuple(owners))

    @property
    def segments(self) -> tuple[ExecutionSegment, ...]:
        """The consecutive segments of the sequence."""
        return tuple(
            ExecutionSegment(before, after) for before, after in itertools.pairwise(self.points)
        )

    def scale(self, index: int, total: int) -> int:
        """Segment ``index``'s share of ``total`` things: its positions among the first ``total``."""
        owned = self.positions[index]
        cycles, rest = divmod(total, self.lcd)
        return cycles * len(owned) + bisect.bisect_left(owned, rest)

    def owner(self, item: int) -> int:
        """The segment that global index ``item`` (0-based) belongs to."""
        return self.owners[item % self.lcd]

    def __str__(self) -> str:
        return sequence_text(self.points)


@dataclass(frozen=True)
class ExecutionTuple:
    """One segment of a full sequence: what a process needs to compute its share of anything."""

    sequence: SegmentSequence
    index: int

    @property
    def segment(self) -> ExecutionSegment:
        """This process's segment."""
        return self.sequence.segments[self.index]

    @property
    def is_full(self) -> bool:
        """The whole test: no segmentation at all."""
        return len(self.sequence.points) == 2

    def scale(self, total: int) -> int:
        """This segment's share of ``total`` VUs or iterations (shares of all segments sum to it)."""
        return total if self.is_full else self.sequence.scale(self.index, total)

    def owns(self, item: int) -> bool:
        """Whether global index ``item`` (an arrival, 0-based) is this segment's to run."""
        return self.is_full or self.sequence.owner(item) == self.index

    def for_total(self, total: int) -> ExecutionTuple | None:
        """The sequence re-cut by how ``total`` splits, as k6 does for ``GetNewExecutionTupleFromValue``.

        Each segment's new length is its share of ``total`` divided by ``total``; segments whose
        share is 0 drop out. k6 deals shared iterations this way (by how the VUs split) and the
        arrivals of arrival-rate executors (by how maxVUs split): a process with no VU gets no
        work, and the ones with VUs divide all of it. None when this segment's share is 0.
        """
        if total < 1 or self.scale(total) == 0:
            return None
        if self.is_full or total % self.sequence.lcd == 0:
            return self
        points = [Fraction(0)]
        new_index = -1
        done = 0
        for index in range(len(self.sequence.points) - 1):
            share = self.sequence.scale(index, total)
            if share == 0:
                continue
            if index == self.index:
                new_index = len(points) - 1
            done += share
            points.append(Fraction(done, total))
        return ExecutionTuple(SegmentSequence(tuple(points)), new_index)

    def __str__(self) -> str:
        return f"{self.segment} in {self.sequence}"


def execution_tuple(
    segment: str | ExecutionSegment | None, sequence: str | Sequence[Fraction] | None
) -> ExecutionTuple:
    """k6's ``NewExecutionTuple``: the segment placed in its sequence, gaps filled to 0…1.

    Without a sequence the segment alone implies ``0,a,b,1`` (empty pieces left out). With a
    sequence, the segment (``0:1`` when not given) must be one of its segments.
    """
    if isinstance(segment, str):
        segment = parse_segment(segment)
    chosen = segment or FULL
    if sequence is None or (isinstance(sequence, str) and not sequence.strip()):
        points = [chosen.start, chosen.end]
    else:
        points = list(parse_sequence(sequence) if isinstance(sequence, str) else sequence)
        if not any(
            ExecutionSegment(before, after) == chosen
            for before, after in itertools.pairwise(points)
        ):
            raise SegmentError(
                f"execution segment {chosen} is not one of the segments of sequence "
                f"{sequence_text(points)}"
            )
    if points[0] != 0:
        points.insert(0, Fraction(0))
    if points[-1] != 1:
        points.append(Fraction(1))
    lcd = math.lcm(*((after - before).denominator for before, after in itertools.pairwise(points)))
    if lcd > MAX_CYCLE:
        raise SegmentError(
            f"sequence {sequence_text(points)} is too fine: its segments repeat every {lcd} "
            f"VUs (at most {MAX_CYCLE}); use simpler fractions such as 1/3 or 0.25"
        )
    full = SegmentSequence(tuple(points))
    return ExecutionTuple(full, full.segments.index(chosen))
