"""The live progress lines: run status, bars, the TTY and non-TTY blocks."""

from __future__ import annotations

import pytest

from greenws.summary.formatting import strip_ansi
from greenws.summary.progress import (
    BarStatus,
    ScenarioProgress,
    fixed_length_duration,
    go_duration,
    render_bar,
    render_progress,
    render_run_status,
    render_scenarios_header,
)

H = 3600.0


@pytest.mark.parametrize(
    ("elapsed", "max_duration", "expected"),
    [
        (0, 0, "0.0s"),
        (1, 0, "1.0s"),
        (9.94, 0, "9.9s"),
        (9.95, 0, "10.0s"),  # rounding to 100 ms can widen the field
        (-1.1, 0, "1.1s"),
        (1.1, 10, "01.1s"),
        (5, 35, "05.0s"),  # a 5 s test with the default 30 s graceful stop
        (1.1, 60, "0m01.1s"),
        (5, 65, "0m05.0s"),
        (1.1, -60, "0m01.1s"),
        (1.1, 600, "00m01.1s"),
        (183, 600, "03m03.0s"),
        (1.1, H, "0h00m01.1s"),
        (183, 2 * H, "0h03m03.0s"),
        (1.1, 10 * H, "00h00m01.1s"),
        (183, 25 * H, "0d00h03m03.0s"),
        (25 * H, 25 * H, "1d01h00m00.0s"),
        (482 * H, 25 * H, "20d02h00m00.0s"),
        (482 * H, 4800 * H, "020d02h00m00.0s"),
    ],
)
def test_fixed_length_duration(elapsed: float, max_duration: float, expected: str) -> None:
    assert fixed_length_duration(elapsed, max_duration) == expected


def test_fixed_length_duration_defaults_to_elapsed() -> None:
    assert fixed_length_duration(75.0) == "1m15.0s"


def test_run_status_line() -> None:
    line = render_run_status(
        elapsed_s=5.0, vus=2, max_vus=2, complete=4, interrupted=0, max_duration_s=65
    )
    assert line == "running (0m05.0s), 2/2 VUs, 4 complete and 0 interrupted iterations"


def test_run_status_pads_vus_to_max_digits() -> None:
    line = render_run_status(elapsed_s=1, vus=7, max_vus=100, complete=0, interrupted=3)
    assert line == "running (1.0s), 007/100 VUs, 0 complete and 3 interrupted iterations"


def test_run_status_before_start_and_paused() -> None:
    kwargs = {"elapsed_s": 0, "vus": 0, "max_vus": 2, "complete": 0, "interrupted": 0}
    assert render_run_status(**kwargs, started=False).startswith("running, 0/2 VUs")
    assert render_run_status(**kwargs, paused=True).startswith("paused (0.0s), ")


@pytest.mark.parametrize(
    ("fraction", "width", "expected"),
    [
        (0.0, 12, "[----------]"),
        (0.05, 12, "[----------]"),  # under one cell: nothing filled yet
        (0.1, 12, "[>---------]"),
        (0.5, 12, "[====>-----]"),
        (0.99, 12, "[========>-]"),
        (1.0, 12, "[==========]"),
        (1.7, 12, "[==========]"),  # clamped
        (-1.0, 12, "[----------]"),
        (0.5, 8, "[  50% ]"),  # too narrow: a percentage
        (1.0, 3, "[ 100% ]"),
        (0.004, 8, "[   0% ]"),
        (0.5, 100, "[" + "=" * 18 + ">" + "-" * 19 + "]"),  # at most 40 wide
    ],
)
def test_render_bar(fraction: float, width: int, expected: str) -> None:
    assert render_bar(fraction, width) == expected


def test_render_bar_color_dims_the_empty_part() -> None:
    assert render_bar(0.5, 12, color=True) == "[====>\x1b[2;37m-----\x1b[0m]"
    assert render_bar(1.0, 12, color=True) == "[==========]"


_LOOPING = "{} looping VUs for 5s (gracefulStop: 30s)"
SCENARIOS = [
    ScenarioProgress("default", _LOOPING.format(2), 0.5, ("2 VUs", "2.5s/5s")),
    ScenarioProgress("slow_readers", _LOOPING.format(1), 1.0, ("1 VUs", "5s/5s"), BarStatus.DONE),
]


def _progress(**kwargs: object) -> str:
    args: dict[str, object] = {
        "elapsed_s": 2.5,
        "vus": 3,
        "max_vus": 3,
        "complete": 4,
        "interrupted": 0,
        "scenarios": SCENARIOS,
        "max_duration_s": 35,
    }
    args.update(kwargs)
    return render_progress(**args)  # type: ignore[arg-type]


def test_tty_block() -> None:
    text = _progress()
    assert text.startswith("\x1b[K\n")
    lines = text.split("\x1b[K\n")
    assert lines == [
        "",
        "running (02.5s), 3/3 VUs, 4 complete and 0 interrupted iterations",
        "default        [" + "=" * 18 + ">" + "-" * 19 + "] 2 VUs  2.5s/5s",
        "slow_readers ✓ [" + "=" * 38 + "] 1 VUs  5s/5s",
        "",
    ]


def test_tty_bars_shrink_to_fit_the_terminal() -> None:
    lines = _progress(term_width=50).split("\x1b[K\n")[2:4]
    assert max(len(line) for line in lines) == 49  # one column kept free
    assert lines[0] == "default        [=======>---------] 2 VUs  2.5s/5s"
    narrow = _progress(term_width=20).split("\x1b[K\n")[2]
    assert narrow == "default        [  50% ] 2 VUs  2.5s/5s"


def test_non_tty_block_uses_percentages_and_plain_newlines() -> None:
    text = _progress(tty=False)
    assert "\x1b" not in text
    assert text.split("\n") == [
        "",
        "running (02.5s), 3/3 VUs, 4 complete and 0 interrupted iterations",
        "default        [  50% ] 2 VUs  2.5s/5s",
        "slow_readers ✓ [ 100% ] 1 VUs  5s/5s",
        "",
    ]


def test_redraw_moves_the_cursor_back_over_the_block() -> None:
    text = _progress(redraw=True)
    assert text.endswith("\x1b[K\n\r\x1b[J\x1b[4A")
    assert "\x1b[J" not in _progress(tty=False, redraw=True)


def test_color_marks_status_only() -> None:
    text = _progress(color=True)
    assert "\x1b[32m✓\x1b[0m" in text
    assert strip_ansi(text) == strip_ansi(_progress())


def test_right_columns_align_and_long_names_are_cut() -> None:
    scenarios = [
        ScenarioProgress("a" * 40, "", 0.25, ("10/10 VUs", "1m0s/2m0s", "iter 3")),
        ScenarioProgress("b", "", 0.25, ("1 VUs", "5s/2m0s", "iter 12")),
        ScenarioProgress("c", "", 0.25, "single column", BarStatus.INTERRUPTED),
    ]
    lines = _progress(scenarios=scenarios, tty=False).split("\n")[2:5]
    assert lines[0] == "a" * 27 + "...   [  25% ] 10/10 VUs  1m0s/2m0s  iter 3"
    assert lines[1] == "b" + " " * 29 + "   [  25% ] 1 VUs      5s/2m0s    iter 12"
    assert lines[2] == "c" + " " * 29 + " ✗ [  25% ] single column"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0s"), (0.5, "500ms"), (35, "35s"), (35.04, "35s"), (65.5, "1m5.5s"), (3600, "1h0m0s")],
)
def test_go_duration(seconds: float, expected: str) -> None:
    assert go_duration(seconds) == expected


def test_scenarios_header() -> None:
    assert render_scenarios_header(SCENARIOS[:1], max_vus=2, max_duration_s=35) == (
        "     scenarios: (100.00%) 1 scenario, 2 max VUs, 35s max duration (incl. graceful stop):\n"
        "              * default: 2 looping VUs for 5s (gracefulStop: 30s)\n"
    )
    two = render_scenarios_header(SCENARIOS, max_vus=3, max_duration_s=35, segment_fraction=0.5)
    assert two.startswith("     scenarios: (50.00%) 2 scenarios, 3 max VUs, ")
