"""From options to the scenarios this process runs: k6's shortcuts, segments and VU ids. Pure.

k6's ``DeriveScenariosFromShortcuts``: ``vus``, ``duration``, ``iterations`` and ``stages`` make
one ``default`` scenario when ``scenarios`` is not set. With an execution segment
(``--execution-segment``), :func:`derive_scenarios` returns this process's share of each scenario
(:func:`~greenws.options.scenarios.segment_scenario`): the processes of one sequence together run
exactly the whole test. This module reads :class:`~greenws.options.layers.Options`; the
scenario definitions it builds on do not, so neither imports the other's importer.
"""

from __future__ import annotations

from greenws.options.layers import Options
from greenws.options.scenarios import ScenarioConfig, segment_scenario
from greenws.options.segments import ExecutionTuple, SegmentError, execution_tuple
from greenws.options.values import OptionsError

__all__ = ["derive_scenarios", "global_vu_ids", "options_tuple"]


def derive_scenarios(options: Options) -> list[ScenarioConfig]:
    """The scenarios this process runs: k6's shortcut rules, then its execution segment's share.

    - ``stages`` → ramping-vus (starting from ``vus``, default 1)
    - ``iterations`` → shared-iterations (``duration`` then bounds it as maxDuration)
    - ``duration`` → constant-vus
    - nothing → one VU running one iteration

    With an execution segment, each scenario is cut to the segment's share; a scenario with no
    work in the segment (no VU falls to it) is left out, as k6 skips it.
    """
    scenarios = _whole_test_scenarios(options)
    segment = options_tuple(options)
    if segment.is_full:
        return scenarios
    shares = (segment_scenario(scenario, segment) for scenario in scenarios)
    return [share for share in shares if share is not None]


def global_vu_ids(options: Options) -> dict[str, list[int]]:
    """Each scenario's VU ids in the whole test, unique across segments (k6's ``idInTest``).

    One process numbers its VUs 1, 2, … scenario after scenario. A segment's VUs are the ones
    its striping owns among those, so processes running the segments of one sequence (pods, or
    ``--workers``) never share an id: a script that picks a user account by ``vu.id`` does not
    log two VUs in as the same user.
    """
    segment = options_tuple(options)
    ids: dict[str, list[int]] = {}
    offset = 0
    for scenario in _whole_test_scenarios(options):
        whole = scenario.max_vus
        ids[scenario.name] = [offset + i + 1 for i in range(whole) if segment.owns(i)]
        offset += whole
    return ids


def options_tuple(options: Options) -> ExecutionTuple:
    """The execution segment placed in its sequence (``0:1`` in ``0,1`` when neither is set)."""
    try:
        return execution_tuple(options.execution_segment, options.execution_segment_sequence)
    except SegmentError as error:
        raise OptionsError(
            f"invalid option executionSegment/executionSegmentSequence: {error}"
        ) from None


def _whole_test_scenarios(options: Options) -> list[ScenarioConfig]:
    """k6's shortcut rules on the whole test (no segment applied), in k6's order
    (``DeriveScenariosFromShortcuts``) and with its executors' validation."""
    graceful_stop = options.graceful_stop if options.graceful_stop is not None else 30.0
    vus = options.vus if options.vus is not None else 1

    def conflict(first: str, second: str) -> OptionsError:
        return OptionsError(f"options {first!r} and {second!r} conflict: use one of them")

    def at_least_one_vu(count: int) -> None:
        if count <= 0:
            raise OptionsError("option 'vus' is 0: at least one VU is needed to run anything")

    if options.iterations is not None:
        if options.stages:
            raise conflict("iterations", "stages")
        if options.scenarios is not None:
            raise conflict("iterations", "scenarios")
        at_least_one_vu(vus)
        if options.iterations < vus:
            raise OptionsError(
                f"the number of iterations ({options.iterations}) can't be less than the number "
                f"of VUs ({vus}): shared-iterations gives every VU at least one, as in k6"
            )
        return [
            ScenarioConfig(
                "default",
                "shared-iterations",
                vus=vus,
                iterations=options.iterations,
                max_duration=options.duration if options.duration is not None else 600.0,
                graceful_stop=graceful_stop,
            )
        ]
    if options.duration is not None:
        if options.stages:
            raise conflict("duration", "stages")
        if options.scenarios is not None:
            raise conflict("duration", "scenarios")
        if options.duration <= 0:
            raise OptionsError("option 'duration' must be more than 0")
        at_least_one_vu(vus)
        return [
            ScenarioConfig(
                "default",
                "constant-vus",
                vus=vus,
                duration=options.duration,
                graceful_stop=graceful_stop,
            )
        ]
    if options.stages:
        if options.scenarios is not None:
            raise conflict("stages", "scenarios")
        return [
            ScenarioConfig(
                "default",
                "ramping-vus",
                start_vus=vus,
                stages=options.stages,
                graceful_stop=graceful_stop,
            )
        ]
    if options.vus is not None:  # vus alone: that many iterations among that many VUs (k6)
        at_least_one_vu(options.vus)
        return [
            ScenarioConfig(
                "default",
                "shared-iterations",
                vus=options.vus,
                iterations=options.vus,
                max_duration=600.0,
                graceful_stop=graceful_stop,
            )
        ]
    if options.scenarios:
        return list(options.scenarios.values())
    return [
        ScenarioConfig(
            "default",
            "per-vu-iterations",
            vus=1,
            iterations=1,
            max_duration=600.0,
            graceful_stop=graceful_stop,
        )
    ]
