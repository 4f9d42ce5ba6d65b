"""The dashboard's settings and update pacing: plain values, nothing started."""

from __future__ import annotations

import pytest

from greenws.outputs.dashboard.settings import MAX_LOOP_SHARE, next_update_in, parse_settings


def test_settings_follow_greenws_then_k6_names() -> None:
    env = {"K6_WEB_DASHBOARD": "true", "K6_WEB_DASHBOARD_PORT": "7000",
           "GREENWS_WEB_DASHBOARD_PORT": "7001", "K6_WEB_DASHBOARD_PERIOD": "2s"}  # fmt: skip
    settings = parse_settings(env)
    assert (settings.enabled, settings.port, settings.period) == (True, 7001, 2.0)
    assert parse_settings(env, port=0).port == 0  # a flag wins over both
    assert parse_settings({}, export="x.html").enabled  # an export asks for the dashboard
    public = parse_settings({}, enabled=True, host="0.0.0.0")
    assert public.warnings and "beyond this machine" in public.warnings[0]
    for bad, problem in (
        ({"K6_WEB_DASHBOARD_PORT": "web"}, "expected a port number"),
        ({"K6_WEB_DASHBOARD_PERIOD": "10ms"}, "expected 100ms to 1h"),
        ({"GREENWS_WEB_DASHBOARD": "maybe"}, "expected true or false"),
        ({"GREENWS_WEB_DASHBOARD_TAGS": "ok,no way"}, "is not a tag name"),
    ):
        with pytest.raises(ValueError, match=problem):
            parse_settings(bad)


def test_a_page_too_large_to_draw_every_period_is_drawn_less_often() -> None:
    assert next_update_in(1.0, 0.002) == 1.0  # cheap: the period
    wait = next_update_in(1.0, 0.5)  # half a second of drawing: at most 1 % of the loop
    assert wait > 1.0
    assert 0.5 / (0.5 + wait) == pytest.approx(MAX_LOOP_SHARE)
    assert next_update_in(10.0, 0.05) == 10.0  # a long period already keeps the share down
