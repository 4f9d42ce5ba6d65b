"""``--dashboard``: a real run watched in headless Chromium, as a person would watch it.

The page must load with no console error and fetch nothing but its own server; its numbers must
change while the test runs and equal the summary's at the end; the process must exit although
the tab is still open; and the file ``--dashboard-export`` writes is the same page, frozen. The
screenshot taken mid-run goes to the test's temporary directory; with
``GREENWS_UPDATE_SCREENSHOT=1`` it replaces the README's (``docs/dashboard.png``), so an ordinary
test run never leaves the checkout modified.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, run_greenws, write_script
from headless_chromium import HeadlessChromium, find_chromium
from servers import free_port

SCRIPT = """
import os
from greenws import ws, check, group, sleep, Trend

options = {
    "scenarios": {
        "chatters": {"executor": "constant-vus", "vus": 3, "duration": "5s"},
    },
    "thresholds": {"ws_connecting": ["p(95)<60000"], "checks": ["rate>0.99"]},
}
think = Trend("think_time", True)

def default():
    def session(socket):
        sent = []
        def on_message(message):
            if len(sent) < 20:
                sent.append(1)
                socket.send("ping")
            else:
                socket.close(1000)
        def on_open():
            socket.ping()
            socket.send("ping")
        socket.on("open", on_open)
        socket.on("message", on_message)
    def chat():
        res = ws.connect(os.environ["TARGET"], {"tags": {"room": "lobby"}}, session)
        check(res, {"status is 101": lambda r: r.status == 101})
    group("chat", chat)
    think.add(50)
    sleep(0.05)
"""

TOTAL_OF = """
(name) => {
  for (const row of document.querySelectorAll('#totals table.plain tr')) {
    const cells = row.querySelectorAll('td');
    if (cells.length > 1 && cells[0].textContent === name) return cells[1].textContent;
  }
  return null;
}
"""


def _wait_until_serving(url: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"greenws exited early: {process.communicate()[1]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def _total(browser: HeadlessChromium, name: str) -> str | None:
    return browser.evaluate(f"({TOTAL_OF})({json.dumps(name)})")  # type: ignore[no-any-return]


def test_the_live_page_follows_the_run_and_ends_as_the_summary(
    tmp_path: Path, echo_server: Any
) -> None:
    executable = find_chromium()
    if executable is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium")
    script = write_script(tmp_path, SCRIPT)
    port = free_port()
    export, summary = tmp_path / "final.html", tmp_path / "summary.json"
    command = [
        sys.executable, "-m", "greenws", "run", str(script), "-q", "--no-color",
        "--dashboard", "--dashboard-port", str(port), "--dashboard-period", "300ms",
        "--dashboard-export", str(export), "--dashboard-tag", "room",
        "--summary-export", str(summary),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TARGET": echo_server.url}
    process = subprocess.Popen(
        command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base + "/report", process)
        with HeadlessChromium(executable) as browser:
            browser.open(base + "/")
            seen = []
            deadline = time.monotonic() + 20
            while len(set(seen)) < 2 and time.monotonic() < deadline:
                time.sleep(0.5)
                seen.append(_total(browser, "ws_msgs_sent"))
            assert len({s for s in seen if s}) >= 2, seen  # the numbers move while it runs
            assert browser.evaluate("document.querySelector('[data-running]') !== null")
            assert browser.evaluate("document.querySelectorAll('svg.chart').length") >= 6
            shot = tmp_path / "dashboard.png"
            if os.environ.get("GREENWS_UPDATE_SCREENSHOT"):
                shot = ROOT / "docs" / "dashboard.png"
            browser.screenshot(shot)
            assert shot.stat().st_size > 10_000  # a rendered page, not an empty image
            # The tab stays open: the process must end anyway.
            code = process.wait(timeout=60)
            _stdout, stderr = process.communicate(timeout=10)
            assert code == 0, stderr
            deadline = time.monotonic() + 10
            while not browser.evaluate("document.body.dataset.finished === '1'"):
                assert time.monotonic() < deadline, "the page never got the end of the test"
                time.sleep(0.1)
            data = json.loads(summary.read_text())
            for name in ("ws_msgs_sent", "ws_sessions", "iterations"):
                assert _total(browser, name) == str(data["metrics"][name]["count"]), name
            assert browser.evaluate("document.querySelector('[data-exit-code=\"0\"]') !== null")
            assert browser.evaluate(
                "document.querySelector('section.tag-breakdown[data-tag=room]')"
                ".textContent.includes('ROOM: lobby')"
            )
            assert browser.problems() == []
            assert all(url.startswith(base + "/") for url in browser.requests())
            final = browser.evaluate("document.querySelector('main').textContent")
            browser.events.clear()
            browser.open(export.as_uri())
            # The exported report is the page the tab ended on.
            assert browser.evaluate("document.querySelector('main').textContent") == final
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    page = export.read_text(encoding="utf-8")
    assert "<script>" not in page.replace('<script type="application/json"', "")


def _listening_ports(pids: set[int]) -> dict[int, list[int]]:
    """The TCP ports each of ``pids`` listens on, ``{pid: [ports]}`` (pids listening on nothing
    left out), read from /proc rather than from a tool's output format."""
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    inodes[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    found: dict[int, list[int]] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:[") and target[8:-1] in inodes:
                found.setdefault(pid, []).append(inodes[target[8:-1]])
    return found


def _children(pid: int) -> set[int]:
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children.update(int(child) for child in text)
    return children


def _worker_link(pid: int) -> dict[str, Any]:
    """What the coordinator told a worker (its ``--worker-link`` argument)."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return json.loads(argv[argv.index("--worker-link") + 1])  # type: ignore[no-any-return]


def test_with_workers_the_coordinator_serves_one_page_of_the_whole_test(
    tmp_path: Path, echo_server: Any
) -> None:
    """``--workers 2``: one server (the coordinator's; the workers listen on nothing), and the
    page's totals at the end are the merged summary's, not one worker's share."""
    executable = find_chromium()
    if executable is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium")
    script = write_script(tmp_path, SCRIPT.replace('"vus": 3', '"vus": 4'))
    port = free_port()
    summary = tmp_path / "summary.json"
    command = [
        sys.executable, "-m", "greenws", "run", str(script), "-q", "--no-color",
        "--workers", "2", "--dashboard", "--dashboard-port", str(port),
        "--dashboard-period", "300ms", "--dashboard-tag", "room",
        "--summary-export", str(summary),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TARGET": echo_server.url}
    process = subprocess.Popen(
        command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base + "/report", process)
        with HeadlessChromium(executable) as browser:
            browser.open(base + "/")
            workers: set[int] = set()
            deadline = time.monotonic() + 20
            while len(workers) < 2 and time.monotonic() < deadline:
                workers = _children(process.pid)
                time.sleep(0.1)
            assert len(workers) == 2, workers
            listening = _listening_ports({process.pid, *workers})
            assert listening == {process.pid: [port]}, listening  # one server, no worker's
            for worker in workers:  # the page is fed by their report data, not every sample
                link = _worker_link(worker)
                assert (link["forward"], link["report"], link["report_tags"]) == (
                    False,
                    True,
                    ["room"],
                ), link
            seen = []
            deadline = time.monotonic() + 20
            while len({s for s in seen if s}) < 2 and time.monotonic() < deadline:
                time.sleep(0.5)
                seen.append(_total(browser, "ws_msgs_sent"))
            assert len({s for s in seen if s}) >= 2, seen  # the merged numbers move
            code = process.wait(timeout=60)
            _stdout, stderr = process.communicate(timeout=10)
            assert code == 0, stderr
            deadline = time.monotonic() + 10
            while not browser.evaluate("document.body.dataset.finished === '1'"):
                assert time.monotonic() < deadline, "the page never got the end of the test"
                time.sleep(0.1)
            data = json.loads(summary.read_text())
            for name in ("ws_msgs_sent", "ws_msgs_received", "ws_sessions", "iterations"):
                assert _total(browser, name) == str(data["metrics"][name]["count"]), name
            assert data["metrics"]["vus_max"]["max"] == 4  # both workers' VUs in one total
            assert browser.evaluate(
                "document.querySelector('section.tag-breakdown[data-tag=room]')"
                ".textContent.includes('ROOM: lobby')"
            )
            assert browser.problems() == []
            assert all(url.startswith(base + "/") for url in browser.requests())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_port_minus_one_serves_nothing_and_still_exports(tmp_path: Path, echo_server: Any) -> None:
    export = tmp_path / "final.html"
    result = run_greenws(
        tmp_path,
        SCRIPT.replace('"5s"', '"300ms"'),
        env={
            "TARGET": echo_server.url,
            "K6_WEB_DASHBOARD_PORT": "-1",
            "K6_WEB_DASHBOARD_EXPORT": str(export),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "web dashboard:" not in result.stderr
    assert "<svg" in export.read_text(encoding="utf-8")


def test_a_port_in_use_is_an_option_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_greenws(
            tmp_path,
            "def default():\n    pass\n",
            "--dashboard",
            "--dashboard-port",
            str(port),
            outputs=False,
        )
    assert result.returncode == 104
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


BROKEN_VIEW = """
from greenws.plugins import hookimpl

calls = []

def view(metric, samples, values, tags):
    calls.append(metric.name)
    if len(calls) == 2:
        raise RuntimeError("the view broke")

@hookimpl
def greenws_output_start(run):
    assert run.observe_samples(view)
"""


def test_a_live_view_that_fails_costs_the_summary_nothing(tmp_path: Path, echo_server: Any) -> None:
    """A view fed by the engine's aggregator (as the dashboard is) raises mid-run: it is dropped
    with one warning, and the summary still counts every sample the JSON output got."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "greenws_broken_view.py").write_text(BROKEN_VIEW, encoding="utf-8")
    result = run_greenws(
        tmp_path,
        SCRIPT.replace('"5s"', '"1s"'),
        "-p",
        "greenws_broken_view",
        env={"TARGET": echo_server.url, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("failed and sees no more samples") == 1, result.stderr
    assert "the view broke" in result.stderr
    for name in ("ws_msgs_sent", "ws_sessions", "iterations"):
        assert result.metric(name)["count"] == len(result.points_of(name)) > 0, name
