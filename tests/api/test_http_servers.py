"""``http`` against servers greenws did not write: Debian's nginx (keep-alive reuse seen from the
server's side) and the test app behind TLS (verification, ``tls_version``, TLS timings)."""

from __future__ import annotations

from pathlib import Path

from greenws_runner import run_greenws
from servers import NginxServer
from test_http import assert_all_checks_pass

KEEP_ALIVE = """
from greenws import check, http

options = {{"iterations": 1}}

def default():
    first = http.get("{url}/static.txt")
    second = http.get("{url}/static.txt")
    both = http.batch(["{url}/static.txt", "{url}/missing"])
    check(first, {{
        "static file": lambda r: r.status == 200 and r.body == "served by nginx\\n",
        "a new connection is timed": lambda r: r.timings.connecting > 0 and r.timings.blocked >= r.timings.connecting,
    }})
    check(second, {{
        "the second request reuses it": lambda r: r.timings.connecting == 0,
        "duration is sending + waiting + receiving": lambda r: abs(r.timings.duration - (r.timings.sending + r.timings.waiting + r.timings.receiving)) < 1e-9,
    }})
    check(both, {{"batch": lambda r: [x.status for x in r] == [200, 404]}})
"""


def test_keep_alive_one_connection_on_nginxs_side(tmp_path: Path, nginx: NginxServer) -> None:
    (nginx.directory / "www" / "static.txt").write_text("served by nginx\n")
    result = run_greenws(tmp_path, KEEP_ALIVE.format(url=nginx.url))
    assert result.returncode == 0, result.stderr[-3000:]
    assert_all_checks_pass(result)
    log = [line.split() for line in nginx.access_log()]
    assert len(log) == 4
    # The two sequential requests went over one TCP connection (its 1st and 2nd request); the
    # batch's two ran in parallel, so one of them needed a connection of its own.
    assert log[0][0] == log[1][0] and [log[0][1], log[1][1]] == ["1", "2"]
    assert len({entry[0] for entry in log}) == 2
    assert result.summary["metrics"]["http_reqs"]["count"] == 4


TLS = """
from greenws import check, http

options = {{"iterations": 1{insecure}}}

def default():
    first = http.get("{url}/json")
    second = http.get("{url}/json")
    check(first, {{"{label}": {condition}}})
    check(second, {{"reused over TLS": lambda r: r.status != 200 or r.timings.tls_handshaking == 0}})
"""


def test_tls_verification_and_tags(tmp_path: Path, https_app: str) -> None:
    trusted = run_greenws(
        tmp_path,
        TLS.format(
            url=https_app,
            insecure=', "insecureSkipTLSVerify": True',
            label="TLS handshake timed",
            condition="lambda r: r.status == 200 and r.timings.tls_handshaking > 0 "
            "and r.tls_version.startswith('tls1.') and r.json('user.name') == 'ada'",
        ),
    )
    assert trusted.returncode == 0, trusted.stderr[-3000:]
    assert_all_checks_pass(trusted)
    tags = [p["data"]["tags"] for p in trusted.points_of("http_reqs")]
    assert [t["tls_version"] for t in tags] == [tags[0]["tls_version"]] * 2
    assert tags[0]["tls_version"] in ("tls1.2", "tls1.3")

    refused = run_greenws(
        tmp_path,
        TLS.format(
            url=https_app,
            insecure="",
            label="an untrusted certificate is k6's 1310",
            condition="lambda r: r.status == 0 and r.error_code == 1310",
        ),
    )
    assert refused.returncode == 0, refused.stderr[-3000:]
    assert_all_checks_pass(refused)
    errors = {p["data"]["tags"]["error"] for p in refused.points_of("http_reqs")}
    assert errors == {"x509: unknown authority"}
