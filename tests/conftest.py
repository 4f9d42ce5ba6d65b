"""Shared fixtures: the servers greenws is tested against, one process each per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import ROOT, NginxServer, ScriptServer, free_port, self_signed_certificate

from greenws.cli.echo_server import EchoServerProcess
from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import BuiltinMetrics, register_builtin
from greenws.metrics.metric import Registry

__all__ = ["free_port"]  # re-exported: a port that was free a moment ago

#: Tests of the pure cores: plain values, no server, no greenws child process. `pytest -m pure`
#: runs them in seconds, so a change to a pure core is checked at once.
PURE_TESTS = (
    "tests/protocol/",
    "tests/codecs/",
    "tests/metrics/",
    "tests/summary/",
    "tests/options/",
    "tests/test_architecture.py",
    "tests/test_native.py",
    "tests/runtime/test_timers.py",
    "tests/runtime/test_logs.py",
    "tests/outputs/test_file_destination.py",
    "tests/outputs/test_line_file.py",
    "tests/outputs/test_influx_lines.py",
    "tests/outputs/test_html_report_series.py",
    "tests/outputs/test_html_report_render.py",
    "tests/outputs/test_dashboard_settings.py",
    "tests/outputs/test_prometheus_rw_encoding.py",
    "tests/outputs/test_grafana_compose.py",
    "tests/codecs/test_socketio.py",
)


def pytest_configure(config: pytest.Config) -> None:
    # registered here, not in pyproject.toml, so the marker lives beside the tests that use it
    config.addinivalue_line(
        "markers",
        "heavy: a scale test that takes both cores for about a minute (tests/net/"
        "test_many_connections.py); CI runs it, `pytest -m 'not heavy'` leaves it out",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        where = Path(item.path).resolve().relative_to(ROOT).as_posix()
        if where.startswith(PURE_TESTS):
            item.add_marker(pytest.mark.pure)


@pytest.fixture(scope="session")
def echo_server() -> Iterator[EchoServerProcess]:
    """greenws's own echo target in a child process; ``.url`` is ``ws://127.0.0.1:PORT``."""
    with EchoServerProcess("127.0.0.1", 0) as server:
        yield server


@pytest.fixture(scope="session")
def websockets_server() -> Iterator[ScriptServer]:
    """The independent ``websockets`` server; ``.url`` is the base, append a route path."""
    server = ScriptServer(ROOT / "tests" / "interop" / "websockets_server.py")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``wss://127.0.0.1:PORT`` of the ``websockets`` echo server behind TLS, with a self-signed
    certificate for 127.0.0.1 that nobody trusts (tests/net/tls_echo_server.py)."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    server = ScriptServer(
        ROOT / "tests" / "net" / "tls_echo_server.py", "--cert", str(cert), "--key", str(key)
    )
    try:
        yield f"wss://{server.host}:{server.port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def http_app() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of the ``http`` module's test server (tests/api/http_app.py:
    login, JSON, redirects, gzip, slow, Basic auth, multipart, and a ``/ws`` WebSocket)."""
    server = ScriptServer(ROOT / "tests" / "api" / "http_app.py")
    try:
        yield f"http://{server.host}:{server.port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def https_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``https://127.0.0.1:PORT`` of the same server behind TLS, with the self-signed
    certificate of ``tls_server`` (nobody trusts it: tests skip verification)."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("https"))
    server = ScriptServer(
        ROOT / "tests" / "api" / "http_app.py", "--cert", str(cert), "--key", str(key)
    )
    try:
        yield f"https://{server.host}:{server.port}"
    finally:
        server.stop()


# -- plain-value fixtures of the metrics core --------------------------------------------------


@pytest.fixture
def registry() -> Registry:
    """An empty metric registry."""
    return Registry()


@pytest.fixture
def builtin(registry: Registry) -> BuiltinMetrics:
    """k6's built-in metrics, registered in ``registry``."""
    return register_builtin(registry)


@pytest.fixture
def agg(registry: Registry, builtin: BuiltinMetrics) -> Aggregator:
    """An aggregator over ``registry`` with the built-ins in it."""
    return Aggregator(registry)


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[NginxServer]:
    """Debian's nginx serving ``tmp_path/www`` (skipped when nginx is not installed)."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    server = NginxServer(tmp_path / "nginx", binary)
    try:
        yield server
    finally:
        server.stop()
