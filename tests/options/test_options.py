"""Options: k6's names, validation, precedence and shortcut rules, with plain values."""

from __future__ import annotations

import pytest

from greenws.options.derive import derive_scenarios
from greenws.options.layers import DEFAULT_TREND_STATS, options_from_env, resolve_options
from greenws.options.values import OptionsError, Stage


def shape(**options: object):
    return derive_scenarios(resolve_options(("script", options)))


def test_defaults() -> None:
    options = resolve_options()
    assert options.summary_trend_stats == DEFAULT_TREND_STATS
    assert options.setup_timeout == 60.0 and options.teardown_timeout == 60.0
    [scenario] = derive_scenarios(options)
    assert (scenario.executor, scenario.vus, scenario.iterations) == ("per-vu-iterations", 1, 1)
    assert scenario.graceful_stop == 30.0


def test_precedence_lowest_first() -> None:
    options = resolve_options(
        ("--config", {"vus": 1, "duration": "1s"}),
        ("script", {"vus": 2}),
        ("environment", options_from_env({"GREENWS_VUS": "3", "K6_VUS": "9", "K6_DURATION": "7s"})),
        ("command line", {"vus": 4}),
    )
    assert options.vus == 4
    assert options.duration == 7.0  # K6_ alias, since GREENWS_DURATION is unset


def test_greenws_env_names_win_over_k6_aliases() -> None:
    assert options_from_env({"GREENWS_VUS": "3", "K6_VUS": "9"}) == {"vus": "3"}


def test_shortcuts() -> None:
    [constant] = shape(vus=3, duration="10s")
    assert (constant.executor, constant.vus, constant.duration) == ("constant-vus", 3, 10.0)
    [shared] = shape(vus=3, iterations=10)
    assert (shared.executor, shared.vus, shared.iterations, shared.max_duration) == (
        "shared-iterations",
        3,
        10,
        600.0,
    )
    [bounded] = shape(iterations=10, duration="5s")
    assert bounded.max_duration == 5.0
    with pytest.raises(
        OptionsError, match=r"iterations \(4\) can't be less than the number of VUs \(10\)"
    ):
        shape(vus=10, iterations=4)  # k6 refuses rather than silently run 4 VUs
    [vus_only] = shape(vus=3)
    assert (vus_only.executor, vus_only.vus, vus_only.iterations) == ("shared-iterations", 3, 3)
    [ramp] = shape(vus=2, stages=[{"duration": "10s", "target": 5}])
    assert (ramp.executor, ramp.start_vus, ramp.stages) == ("ramping-vus", 2, (Stage(10.0, 5),))
    [cli_ramp] = derive_scenarios(resolve_options(("cli", {"stages": ["5s:3", "5s:0"]})))
    assert cli_ramp.stages == (Stage(5.0, 3), Stage(5.0, 0))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"duraton": "5s"}, "did you mean 'duration'"),
        ({"gracefulRampDown": "5s"}, "'gracefulRampDown' in script is a scenario key"),
        (
            {"scenarios": {"s": {"executor": "shared-iterations", "vus": 4, "iterations": 2}}},
            "scenarios.s: the number of iterations (2) can't be less than the number of VUs (4)",
        ),
        ({"preAllocatedVUs": 5}, "'preAllocatedVUs' in script is a scenario key"),
        ({"duration": "5x"}, "'5x'"),
        ({"vus": -1}, "vus"),
        ({"vus": "many"}, "vus"),
        ({"iterations": 0}, "iterations"),
        ({"stages": [{"target": 3}]}, "stages[0]"),
        ({"summaryTimeUnit": "h"}, "summaryTimeUnit"),
        ({"summaryTrendStats": ["p(95)", "mode"]}, "'mode'"),
        ({"insecureSkipTLSVerify": "maybe"}, "insecureSkipTLSVerify"),
        ({"scenarios": {"a": {"executor": "nope"}}}, "unknown executor 'nope'"),
        ({"scenarios": {"a": {"executor": "constant-vus", "vus": 1}}}, "needs a duration"),
        ({"scenarios": {"a": {"executor": "constant-vus", "duration": "1s", "rate": 1}}}, "'rate'"),
        (
            {
                "scenarios": {
                    "a": {"executor": "constant-arrival-rate", "rate": 1, "duration": "1s"}
                }
            },
            "preAllocatedVUs",
        ),
        (
            {
                "scenarios": {
                    "a": {
                        "executor": "constant-arrival-rate",
                        "rate": 1,
                        "duration": "1s",
                        "preAllocatedVUs": 5,
                        "maxVUs": 2,
                    }
                }
            },
            "maxVUs (2)",
        ),
        (
            {"scenarios": {"a": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 1}}},
            "at least one stage",
        ),
    ],
)
def test_bad_options_name_the_key(options: dict[str, object], message: str) -> None:
    with pytest.raises(OptionsError, match=None) as raised:
        shape(**options)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("options", "keys"),
    [
        ({"iterations": 5, "stages": [{"duration": "1s", "target": 1}]}, ("iterations", "stages")),
        ({"duration": "5s", "stages": [{"duration": "1s", "target": 1}]}, ("duration", "stages")),
        (
            {"duration": "5s", "scenarios": {"a": {"executor": "constant-vus", "duration": "1s"}}},
            ("duration", "scenarios"),
        ),
        (
            {
                "stages": ["1s:1"],
                "scenarios": {"a": {"executor": "constant-vus", "duration": "1s"}},
            },
            ("stages", "scenarios"),
        ),
    ],
)
def test_conflicts_name_both_keys(options: dict[str, object], keys: tuple[str, str]) -> None:
    with pytest.raises(OptionsError) as raised:
        shape(**options)
    assert all(f"'{key}'" in str(raised.value) for key in keys)


def test_scenarios_keep_k6_defaults_and_common_keys() -> None:
    scenarios = shape(
        scenarios={
            "steady": {
                "executor": "constant-arrival-rate",
                "rate": 10,
                "duration": "1m",
                "preAllocatedVUs": 5,
            },
            "ramp": {
                "executor": "ramping-arrival-rate",
                "startRate": 2,
                "timeUnit": "1m",
                "stages": [{"duration": "30s", "target": 60}],
                "preAllocatedVUs": 1,
                "maxVUs": 10,
                "startTime": "10s",
                "gracefulStop": "5s",
                "exec": "other",
                "tags": {"team": "a"},
                "env": {"MODE": "ramp"},
            },
            "shared": {"executor": "shared-iterations"},
            "per_vu": {"executor": "per-vu-iterations", "vus": 2, "iterations": 3},
            "rvus": {"executor": "ramping-vus", "stages": [{"duration": "5s", "target": 4}]},
        }
    )
    by_name = {scenario.name: scenario for scenario in scenarios}
    steady = by_name["steady"]
    assert (steady.time_unit, steady.max_vus_limit, steady.max_vus) == (1.0, 5, 5)
    ramp = by_name["ramp"]
    assert (ramp.start_rate, ramp.time_unit, ramp.start_time, ramp.graceful_stop) == (
        2,
        60.0,
        10.0,
        5.0,
    )
    assert (ramp.exec_name, dict(ramp.tags), dict(ramp.env)) == (
        "other",
        {"team": "a"},
        {"MODE": "ramp"},
    )
    shared = by_name["shared"]
    assert (shared.vus, shared.iterations, shared.max_duration, shared.graceful_stop) == (
        1,
        1,
        600.0,
        30.0,
    )
    assert by_name["per_vu"].max_vus == 2
    rvus = by_name["rvus"]
    assert (rvus.start_vus, rvus.graceful_ramp_down, rvus.max_vus) == (1, 30.0, 4)


def test_ignored_k6_options_warn_instead_of_failing() -> None:
    options = resolve_options(("script", {"httpDebug": "full", "vus": 1}))
    assert options.warnings and "httpDebug" in options.warnings[0]


def test_http_options_with_k6s_defaults_names_and_environment() -> None:
    defaults = resolve_options()
    assert (defaults.max_redirects, defaults.batch, defaults.batch_per_host) == (10, 10, 6)
    assert defaults.discard_response_bodies is False
    layer = {"maxRedirects": 0, "batch": 20, "batchPerHost": 2, "discardResponseBodies": True}
    options = resolve_options(("script", layer))
    assert (options.max_redirects, options.batch, options.batch_per_host) == (0, 20, 2)
    assert options.discard_response_bodies is True and options.warnings == []
    env = options_from_env({"K6_BATCH_PER_HOST": "3", "GREENWS_MAX_REDIRECTS": "4"})
    assert env == {"batchPerHost": "3", "maxRedirects": "4"}
    with pytest.raises(OptionsError, match="maxRedirects"):
        resolve_options(("script", {"maxRedirects": -1}))


def test_a_higher_layer_shortcut_replaces_lower_scenarios_and_vice_versa() -> None:
    scenarios = {"a": {"executor": "constant-vus", "vus": 2, "duration": "1s"}}
    [from_cli] = derive_scenarios(
        resolve_options(("script", {"scenarios": scenarios}), ("command line", {"duration": "9s"}))
    )
    assert (from_cli.name, from_cli.executor, from_cli.duration) == ("default", "constant-vus", 9.0)
    [from_script] = derive_scenarios(
        resolve_options(("--config", {"duration": "3s"}), ("script", {"scenarios": scenarios}))
    )
    assert from_script.name == "a"


SCRIPT_SHAPES = {
    "stages": {"stages": [{"duration": "5s", "target": 3}]},
    "vus+duration": {"vus": 4, "duration": "30s"},
    "scenarios": {"scenarios": {"a": {"executor": "constant-vus", "vus": 2, "duration": "9s"}}},
}


@pytest.mark.parametrize("script", sorted(SCRIPT_SHAPES))
@pytest.mark.parametrize(
    ("where", "override", "expected"),
    [
        ("command line", {"vus": 1, "iterations": 1}, ("shared-iterations", 1, 1, None)),
        ("command line", {"iterations": 3, "vus": 3}, ("shared-iterations", 3, 3, None)),
        ("command line", {"duration": "1s"}, ("constant-vus", None, None, 1.0)),
        ("environment", {"duration": "2s"}, ("constant-vus", None, None, 2.0)),
        ("command line", {"stages": ["1s:3"]}, ("ramping-vus", None, None, None)),
    ],
)
def test_a_higher_layer_run_shape_clears_every_lower_one_as_in_k6(
    script: str, where: str, override: dict[str, object], expected: tuple[object, ...]
) -> None:
    """k6's Options.Apply: duration, iterations, stages or scenarios in a higher layer clear all
    four below it (the everyday smoke-test override); vus layers on its own."""
    [scenario] = derive_scenarios(
        resolve_options(("script options", SCRIPT_SHAPES[script]), (where, override))
    )
    executor, vus, iterations, duration = expected
    assert scenario.executor == executor
    if vus is not None:
        assert (scenario.vus, scenario.iterations) == (vus, iterations)
    if duration is not None:
        assert scenario.duration == duration


def test_vus_alone_over_scenarios_runs_shared_iterations_and_says_so_as_in_k6() -> None:
    options = resolve_options(
        ("script options", SCRIPT_SHAPES["scenarios"]), ("command line", {"vus": 5})
    )
    [scenario] = derive_scenarios(options)
    assert (scenario.name, scenario.executor, scenario.vus, scenario.iterations) == (
        "default",
        "shared-iterations",
        5,
        5,
    )
    assert len(options.warnings) == 1 and "`vus=5` overrides the scenarios" in options.warnings[0]


def test_display_and_limit_options() -> None:
    defaults = resolve_options()
    assert (defaults.no_color, defaults.summary_time_unit, defaults.max_message_size) == (
        False,
        None,
        32 * 1024 * 1024,
    )
    assert defaults.insecure_skip_tls_verify is False
    options = resolve_options(
        (
            "script",
            {
                "noColor": True,
                "summaryTimeUnit": "ms",
                "maxMessageSize": 1000,
                "summaryTrendStats": "avg,p(99.9)",
                "setupTimeout": "5s",
                "teardownTimeout": 7000,
            },
        ),
        ("environment", options_from_env({"GREENWS_NO_COLOR": "false"})),
    )
    assert options.no_color is False  # the environment wins over the script
    assert (options.summary_time_unit, options.max_message_size) == ("ms", 1000)
    assert options.summary_trend_stats == ("avg", "p(99.9)")
    assert (options.setup_timeout, options.teardown_timeout) == (5.0, 7.0)


def test_execution_segment_options_are_checked_and_kept_as_k6_writes_them() -> None:
    options = resolve_options(
        ("script", {"executionSegment": "50%:0.75", "executionSegmentSequence": [0, 0.5, "3/4", 1]})
    )
    assert options.execution_segment == "1/2:3/4"
    assert options.execution_segment_sequence == "0,1/2,3/4,1"
    defaults = resolve_options()
    assert (defaults.execution_segment, defaults.execution_segment_sequence) == (None, None)


def test_execution_segment_from_the_environment_and_the_command_line_wins() -> None:
    env = options_from_env(
        {"K6_EXECUTION_SEGMENT": "0:1/2", "GREENWS_EXECUTION_SEGMENT_SEQUENCE": "0,1/2,1"}
    )
    assert env == {"executionSegment": "0:1/2", "executionSegmentSequence": "0,1/2,1"}
    options = resolve_options(
        ("script", {"executionSegment": "0:1/3", "executionSegmentSequence": "0,1/3,2/3,1"}),
        ("environment", env),
        ("command line", {"executionSegment": "1/2:1"}),
    )
    assert (options.execution_segment, options.execution_segment_sequence) == ("1/2:1", "0,1/2,1")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"executionSegment": "2/3:1/3"}, "must be less than its end"),
        ({"executionSegment": "0:2"}, "not be more than 1"),
        ({"executionSegment": "half"}, "'half' is not a valid"),
        ({"executionSegmentSequence": "0,2/3,1/3,1"}, "executionSegmentSequence"),
        ({"executionSegmentSequence": "1"}, "at least 2 points"),
    ],
)
def test_bad_execution_segments_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(OptionsError) as raised:
        resolve_options(("script", options))
    assert message in str(raised.value)
    assert "(in script)" in str(raised.value)


def test_a_segment_outside_its_sequence_is_an_options_error() -> None:
    options = resolve_options(
        ("command line", {"executionSegment": "0:1/2", "executionSegmentSequence": "0,1/3,1"})
    )
    with pytest.raises(OptionsError, match="0:1/2 is not one of the segments of sequence 0,1/3,1"):
        derive_scenarios(options)


def test_derived_scenarios_are_the_segments_share() -> None:
    layer = {"vus": 10, "duration": "5s", "executionSegmentSequence": "0,1/3,2/3,1"}
    shares = []
    for segment in ("0:1/3", "1/3:2/3", "2/3:1"):
        [scenario] = derive_scenarios(
            resolve_options(("script", layer), ("command line", {"executionSegment": segment}))
        )
        shares.append(scenario.vus)
    assert shares == [4, 3, 3]
    [whole] = shape(vus=10, duration="5s")
    assert whole.vus == 10 and whole.segment is None
    # one VU cut in three: two segments have no work and run no scenario at all
    assert shape(vus=1, duration="1s", executionSegment="1/3:2/3") == []
