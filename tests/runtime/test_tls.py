"""``wss://`` end to end: certificate verification on by default, and every way to skip it.

The server is the ``websockets`` library behind TLS (``tests/runtime/tls_echo_server.py``) with a
self-signed certificate made for this session. The certificate names 127.0.0.1 correctly, so the
only reason a verifying client can refuse it is that no trusted CA signed it.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from greenws_runner import RunResult, run_greenws
from servers import ROOT, ScriptServer


def _self_signed_with_cryptography(cert: Path, key: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(private_key, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _self_signed_with_openssl(openssl: str, cert: Path, key: Path) -> None:
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(certificate, key) PEM files for 127.0.0.1, signed by nobody anyone trusts."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _self_signed_with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.fail(
                "the TLS tests need the `cryptography` package or the `openssl` command "
                "to make a self-signed certificate"
            )
        _self_signed_with_openssl(openssl, cert, key)
    return cert, key


@pytest.fixture(scope="session")
def tls_server(self_signed: tuple[Path, Path]) -> Iterator[str]:
    """``wss://127.0.0.1:PORT`` of a TLS echo server with the self-signed certificate."""
    cert, key = self_signed
    server = ScriptServer(
        ROOT / "tests" / "runtime" / "tls_echo_server.py", "--cert", str(cert), "--key", str(key)
    )
    try:
        yield f"wss://{server.host}:{server.port}"
    finally:
        server.stop()


SCRIPT = """
import json, os
from greenws import ws

options = OPTIONS

def default():
    log = []
    def session(socket):
        socket.on("open", lambda: socket.send("over tls"))
        def on_message(message):
            log.append(message)
            socket.close(1000)
        socket.on("message", on_message)
        socket.on("error", lambda e: log.append("error: " + e.error()))
        socket.set_timeout(lambda: socket.close(1000), 10000)  # bounded if no echo comes back
    res = ws.connect(os.environ["TARGET"] + "/echo", PARAMS, session)
    with open(os.environ["RESULT_FILE"], "w") as handle:
        json.dump({"status": res.status, "error": res.error, "messages": log}, handle)
"""


def run_tls(
    tmp_path: Path,
    url: str,
    *args: str,
    options: str = '{"iterations": 1}',
    params: str = "None",
    env: dict[str, str] | None = None,
) -> tuple[RunResult, dict[str, object]]:
    result_file = tmp_path / "result.json"
    script = SCRIPT.replace("OPTIONS", options).replace("PARAMS", params)
    result = run_greenws(
        tmp_path,
        script,
        *args,
        env={"TARGET": url, "RESULT_FILE": str(result_file), **(env or {})},
    )
    assert result_file.exists(), f"the script did not finish: {result.stderr}"
    return result, json.loads(result_file.read_text(encoding="utf-8"))


def test_self_signed_certificate_is_refused_by_default(tmp_path: Path, tls_server: str) -> None:
    result, seen = run_tls(tmp_path, tls_server)
    assert result.returncode == 0, result.stderr  # a failed connect is not a script error (k6)
    assert seen["status"] == 0, seen
    error = str(seen["error"])
    assert error, seen
    assert "\n" not in error, error
    assert "certificate" in error.lower() or "tls" in error.lower(), error
    assert seen["messages"] == [], seen
    # The failed session is still measured, as in k6.
    assert result.metric("ws_sessions")["count"] == 1
    assert result.metric("ws_connecting")["count"] == 1
    assert "ws_msgs_sent" not in result.summary["metrics"]
    assert [point["data"]["tags"]["status"] for point in result.points_of("ws_sessions")] == ["0"]
    # The log names the URL, once, on one line.
    logged = [line for line in result.stderr.splitlines() if tls_server in line]
    assert len(logged) == 1, result.stderr
    assert "certificate" in logged[0].lower() or "tls" in logged[0].lower(), logged[0]


@pytest.mark.parametrize(
    ("how", "args", "options", "params", "env"),
    [
        ("script options", (), '{"iterations": 1, "insecureSkipTLSVerify": True}', "None", {}),
        ("CLI flag", ("--insecure-skip-tls-verify",), '{"iterations": 1}', "None", {}),
        (
            "connect param",
            (),
            '{"iterations": 1}',
            '{"insecureSkipTLSVerify": True}',
            {},
        ),
        (
            "environment",
            (),
            '{"iterations": 1}',
            "None",
            {"GREENWS_INSECURE_SKIP_TLS_VERIFY": "true"},
        ),
    ],
    ids=["script-options", "cli-flag", "connect-param", "environment"],
)
def test_skipping_verification_connects_and_echoes(
    tmp_path: Path,
    tls_server: str,
    how: str,
    args: tuple[str, ...],
    options: str,
    params: str,
    env: dict[str, str],
) -> None:
    result, seen = run_tls(tmp_path, tls_server, *args, options=options, params=params, env=env)
    assert result.returncode == 0, result.stderr
    assert seen == {"status": 101, "error": "", "messages": ["over tls"]}, (how, seen)
    assert result.metric("ws_sessions")["count"] == 1
    assert result.metric("ws_msgs_sent")["count"] == 1
    assert result.metric("ws_msgs_received")["count"] == 1
    assert [point["data"]["tags"]["status"] for point in result.points_of("ws_sessions")] == ["101"]


def test_skip_in_one_connection_does_not_leak_into_the_next(
    tmp_path: Path, tls_server: str
) -> None:
    """The insecure and the verifying contexts are separate: the second connect must still fail."""
    result_file = tmp_path / "result.json"
    script = """
import json, os
from greenws import ws

options = {"iterations": 1}

def default():
    seen = []
    for params in ({"insecureSkipTLSVerify": True}, None):
        res = ws.connect(os.environ["TARGET"] + "/echo", params, lambda s: s.on("open", s.close))
        seen.append(res.status)
    with open(os.environ["RESULT_FILE"], "w") as handle:
        json.dump(seen, handle)
"""
    result = run_greenws(
        tmp_path, script, env={"TARGET": tls_server, "RESULT_FILE": str(result_file)}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result_file.read_text(encoding="utf-8")) == [101, 0]
    assert result.metric("ws_sessions")["count"] == 2
