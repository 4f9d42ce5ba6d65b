"""``from greenws import http`` end to end: real ``greenws run`` processes against the WSGI test
server (tests/api/http_app.py), the summary export and every JSON-output point checked.

No test asserts a time: counts, tags, presence and the order of timings (``duration`` is
``sending + waiting + receiving``, as k6 defines it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greenws_runner import RunResult, run_greenws
from servers import free_port


def checks_of(result: RunResult) -> dict[str, tuple[int, int]]:
    """Every check of the run: name -> (passes, fails)."""
    found: dict[str, tuple[int, int]] = {}

    def walk(group: dict[str, Any]) -> None:  # the export keys checks and groups by name
        for check in group.get("checks", {}).values():
            found[check["name"]] = (check["passes"], check["fails"])
        for child in group.get("groups", {}).values():
            walk(child)

    walk(result.summary["root_group"])
    return found


def assert_all_checks_pass(result: RunResult) -> None:
    failing = {name: counts for name, counts in checks_of(result).items() if counts[1]}
    assert failing == {}, result.stderr[-3000:]
    assert checks_of(result), result.stderr[-3000:]


LOGIN_THEN_SOCKET = """
import json
from greenws import check, group, http, ws

options = {{
    "iterations": 1,
    "thresholds": {{
        "http_req_duration{{expected_response:true}}": ["max<60000"],
        "http_req_failed": ["rate<0.9"],
        "http_reqs": ["count>=3"],
    }},
}}
BASE = "{base}"

def default():
    res = http.post(BASE + "/login", {{"user": "ada", "password": "secret"}})
    token = res.json("token")
    check(res, {{
        "login 200": lambda r: r.status == 200 and r.status_text == "200 OK",
        "cookie in the response": lambda r: r.cookies["session"][0]["value"] == "s-ada",
        "cookie in the jar": lambda r: http.cookie_jar().cookies_for_url(BASE) == {{"session": ["s-ada"]}},
        "form sent as k6 sends it": lambda r: r.request.body == "password=secret&user=ada",
    }})
    seen = {{}}

    def session(socket):
        def first(message):
            seen.update(json.loads(message))
            socket.close()
        socket.on("message", first)

    ws.connect(BASE.replace("http", "ws") + "/ws", {{"headers": {{"Authorization": "Bearer " + token}}}}, session)
    check(seen, {{
        "the login cookie reached the handshake": lambda s: s["cookie"] == "session=s-ada",
        "the bearer token too": lambda s: s["authorization"] == "Bearer t-ada",
    }})
    with_group = group("api", lambda: http.get(BASE + "/echo", {{"tags": {{"name": "echo", "kind": "x"}}}}))
    t = with_group.timings
    check(with_group, {{
        "second request reuses the connection": lambda r: r.timings.connecting == 0 and r.timings.tls_handshaking == 0,
        "duration is sending + waiting + receiving": lambda r: abs(t.duration - (t.sending + t.waiting + t.receiving)) < 1e-9,
        "phases are measured": lambda r: t.waiting > 0 and t.sending > 0 and t["receiving"] >= 0,
        "json selector": lambda r: r.json("cookies.session") == "s-ada" and r.json("method") == "GET",
    }})
    missing = http.get(BASE + "/status/404")
    check(missing, {{"404 has its code": lambda r: r.status == 404 and r.error_code == 1404 and r.error == ""}})
    http.post(BASE + "/logout")
    check(None, {{"logout empties the cookie": lambda _: http.cookie_jar().cookies_for_url(BASE) == {{}}}})
"""


def test_login_cookie_reaches_the_socket_and_requests_carry_k6s_metrics_and_tags(
    tmp_path: Path, http_app: str
) -> None:
    result = run_greenws(tmp_path, LOGIN_THEN_SOCKET.format(base=http_app))
    assert result.returncode == 0, result.stderr[-3000:]
    assert_all_checks_pass(result)

    reqs = result.points_of("http_reqs")
    assert [p["data"]["tags"]["name"] for p in reqs] == [
        f"{http_app}/login",
        "echo",
        f"{http_app}/status/404",
        f"{http_app}/logout",
    ]
    login, echo, missing, _ = (p["data"]["tags"] for p in reqs)
    assert login["method"] == "POST" and login["url"] == f"{http_app}/login"
    assert login["status"] == "200" and login["proto"] == "HTTP/1.1"
    assert login["expected_response"] == "true" and login["scenario"] == "default"
    assert login["group"] == "" and "error_code" not in login and "tls_version" not in login
    assert echo["url"] == "echo" and echo["kind"] == "x" and echo["group"] == "::api"
    assert missing["error_code"] == "1404" and missing["expected_response"] == "false"
    assert "error" not in missing

    # Every request emits each of k6's eight samples, with the same tags.
    for name in (
        "http_req_duration",
        "http_req_blocked",
        "http_req_connecting",
        "http_req_tls_handshaking",
        "http_req_sending",
        "http_req_waiting",
        "http_req_receiving",
        "http_req_failed",
    ):
        assert [p["data"]["tags"] for p in result.points_of(name)] == [
            p["data"]["tags"] for p in reqs
        ], name
    assert [p["data"]["value"] for p in result.points_of("http_req_failed")] == [0, 0, 1, 0]
    connecting = [p["data"]["value"] for p in result.points_of("http_req_connecting")]
    assert connecting[0] > 0 and connecting[1:] == [0, 0, 0]  # one connection, kept alive

    metrics = result.summary["metrics"]
    assert metrics["http_reqs"]["count"] == 4
    assert metrics["http_req_duration{expected_response:true}"]["count"] == 3
    assert metrics["http_req_failed"]["passes"] == 1  # k6's Rate: non-zero values
    assert metrics["data_sent"]["count"] > 0 and metrics["data_received"]["count"] > 0

    lines = [line.strip() for line in result.stdout.splitlines()]
    start = lines.index("HTTP")
    block = [line.split(".", 1)[0] for line in lines[start + 1 : start + 5]]
    assert block == [
        "http_req_duration",
        "{ expected_response:true }",
        "http_req_failed",
        "http_reqs",
    ], result.stdout
    assert lines.index("HTTP") < lines.index("EXECUTION") < lines.index("WEBSOCKET")


REDIRECTS_AND_ERRORS = """
from greenws import check, http

options = {{"iterations": 1, "maxRedirects": 2}}
BASE = "{base}"

def default():
    for code in (301, 302, 303, 307):
        res = http.get(BASE + f"/redirect/{{code}}/2")
        check(res, {{f"{{code}} chain followed": lambda r: r.status == 200 and r.url == BASE + "/echo"}})
    too_many = http.get(BASE + "/redirect/302/3")
    check(too_many, {{"maxRedirects stops the chain": lambda r: r.status == 302}})
    none = http.get(BASE + "/redirect/302/1", {{"redirects": 0}})
    check(none, {{"redirects 0 returns the 302": lambda r: r.status == 302 and r.headers["Location"] == "/echo"}})
    post_303 = http.post(BASE + "/redirect-to?code=303&url=/echo", "payload")
    check(post_303, {{"303 turns POST into GET": lambda r: r.json("method") == "GET" and r.json("body") == ""}})
    post_307 = http.post(BASE + "/redirect-to?code=307&url=/echo", "payload")
    check(post_307, {{"307 keeps POST and its body": lambda r: r.json("method") == "POST" and r.json("body") == "payload"}})
    slow = http.get(BASE + "/slow?ms=3000", {{"timeout": "200ms"}})
    check(slow, {{"timeout is k6's 1050": lambda r: r.status == 0 and r.error_code == 1050 and r.error == "request timeout"}})
    slow_ms = http.get(BASE + "/slow?ms=3000", {{"timeout": 200}})
    check(slow_ms, {{"a number is milliseconds": lambda r: r.error_code == 1050}})
    refused = http.get("http://127.0.0.1:{closed}/")
    check(refused, {{"refused is 1212": lambda r: r.error_code == 1212 and r.status == 0}})
    after = http.get(BASE + "/close")
    again = http.get(BASE + "/json")
    check(again, {{"a closed connection is replaced": lambda r: r.status == 200 and r.timings.connecting > 0}})
"""


def test_redirects_timeouts_and_errors(tmp_path: Path, http_app: str) -> None:
    result = run_greenws(tmp_path, REDIRECTS_AND_ERRORS.format(base=http_app, closed=free_port()))
    assert result.returncode == 0, result.stderr[-3000:]
    assert_all_checks_pass(result)
    urls = [p["data"]["tags"]["url"] for p in result.points_of("http_reqs")]
    # Each hop of a chain is a request of its own, tagged with its own url, as in k6.
    assert urls[:3] == [
        f"{http_app}/redirect/301/2",
        f"{http_app}/redirect/301/1",
        f"{http_app}/echo",
    ]
    timeouts = [
        p["data"]["tags"]
        for p in result.points_of("http_reqs")
        if p["data"]["tags"].get("error_code") == "1050"
    ]
    assert len(timeouts) == 2
    assert timeouts[0]["error"] == "request timeout" and timeouts[0]["status"] == "0"
    assert timeouts[0]["expected_response"] == "false" and "proto" not in timeouts[0]
    refused = [
        p["data"]["tags"]
        for p in result.points_of("http_reqs")
        if p["data"]["tags"].get("error_code") == "1212"
    ]
    assert [t["error"] for t in refused] == ["dial: connection refused"]


BODIES = """
from greenws import check, http

options = {{"iterations": 1, "userAgent": "ported/1.0"}}
BASE = "{base}"
HOST = BASE.split("//")[1]

def default():
    for path in ("/gzip", "/deflate"):
        res = http.get(BASE + path)
        check(res, {{f"{{path}} decoded": lambda r: r.json("compressed") == path[1:] and r.json("items.1.id") == 9}})
    good = http.get(f"http://ada:pw@{{HOST}}/basic/ada/pw")
    check(good, {{"credentials in the url are Basic auth": lambda r: r.json("authenticated") is True}})
    check(good, {{"and are masked in res.url": lambda r: r.url == f"http://****:****@{{HOST}}/basic/ada/pw"}})
    explicit = http.get(f"http://ada:pw@{{HOST}}/basic/ada/pw", {{"auth": "basic"}})
    check(explicit, {{"auth basic": lambda r: r.status == 200}})
    bad = http.get(f"http://ada:no@{{HOST}}/basic/ada/pw")
    check(bad, {{"wrong credentials 401": lambda r: r.status == 401 and r.error_code == 1401}})
    upload = http.post(BASE + "/multipart", {{"note": "hi", "doc": http.file("file body", "a.txt", "text/plain")}})
    check(upload, {{
        "multipart field": lambda r: r.json("fields.note") == "hi",
        "multipart file": lambda r: r.json("files.doc") == {{"filename": "a.txt", "content_type": "text/plain", "data": "file body"}},
    }})
    sent = http.put(BASE + "/echo", '{{"a": 1}}', {{
        "headers": {{"Content-Type": "application/json", "X-Trace": "7"}},
        "cookies": {{"extra": "1"}},
    }})
    check(sent, {{
        "json body": lambda r: r.json("body") == '{{"a": 1}}' and r.json("method") == "PUT",
        "headers": lambda r: r.json("headers.X-Trace") == "7" and r.json("headers.Content-Type") == "application/json",
        "userAgent option": lambda r: r.json("headers.User-Agent") == "ported/1.0",
        "cookies param": lambda r: r.json("cookies") == {{"extra": "1"}},
        "request recorded": lambda r: r.request.method == "PUT" and r.request.headers["X-Trace"] == ["7"],
    }})
    binary = http.get(BASE + "/json", {{"responseType": "binary"}})
    check(binary, {{"binary is bytes": lambda r: isinstance(r.body, bytes) and b"ada" in r.body}})
    nothing = http.get(BASE + "/json", {{"responseType": "none"}})
    check(nothing, {{"none has no body": lambda r: r.body is None and r.status == 200}})
    for method, call in (("PATCH", http.patch), ("DELETE", http.delete), ("DELETE", http.del_), ("OPTIONS", http.options)):
        check(call(BASE + "/echo"), {{f"{{method}} sent": lambda r: r.json("method") == method}})
    check(http.head(BASE + "/json"), {{"HEAD has headers, no body": lambda r: r.status == 200 and r.body == ""}})
    check(http.request("get", BASE + "/echo"), {{"request()": lambda r: r.json("method") == "GET"}})

    http.set_response_callback(http.expected_statuses(404, {{"min": 200, "max": 204}}))
    http.get(BASE + "/status/404", {{"tags": {{"name": "cb404"}}}})
    http.get(BASE + "/status/418", {{"tags": {{"name": "cb418"}}}})
    http.get(BASE + "/status/418", {{"tags": {{"name": "nocb"}}, "responseCallback": None}})
"""


def test_bodies_auth_params_and_response_callbacks(tmp_path: Path, http_app: str) -> None:
    result = run_greenws(tmp_path, BODIES.format(base=http_app))
    assert result.returncode == 0, result.stderr[-3000:]
    assert_all_checks_pass(result)
    failed = {
        p["data"]["tags"]["name"]: p["data"]["value"] for p in result.points_of("http_req_failed")
    }
    assert failed["cb404"] == 0 and failed["cb418"] == 1
    assert "nocb" not in failed  # responseCallback null: no http_req_failed, no tag (k6)
    nocb = [p for p in result.points_of("http_reqs") if p["data"]["tags"]["name"] == "nocb"]
    assert "expected_response" not in nocb[0]["data"]["tags"]


BATCH = """
from greenws import check, http

options = {{"iterations": 2, "batchPerHost": 2, "discardResponseBodies": True}}
BASE = "{base}"

def default():
    listed = http.batch([
        BASE + "/json",
        ("GET", BASE + "/status/201"),
        ["POST", BASE + "/echo", "b", {{"tags": {{"name": "batched-post"}}}}],
        {{"method": "GET", "url": BASE + "/slow?ms=50", "params": {{"responseType": "text"}}}},
    ])
    check(listed, {{
        "list order kept": lambda r: [x.status for x in r] == [200, 201, 200, 200],
        "discardResponseBodies": lambda r: r[0].body is None and r[3].json("slow") is True,
    }})
    named = http.batch({{"a": BASE + "/status/202", "b": {{"method": "GET", "url": BASE + "/status/203"}}}})
    check(named, {{"dict keys kept": lambda r: (r["a"].status, r["b"].status) == (202, 203)}})
"""


def test_batch_runs_requests_in_parallel_with_their_own_samples(
    tmp_path: Path, http_app: str
) -> None:
    result = run_greenws(tmp_path, BATCH.format(base=http_app))
    assert result.returncode == 0, result.stderr[-3000:]
    assert_all_checks_pass(result)
    assert result.summary["metrics"]["http_reqs"]["count"] == 12
    names = [p["data"]["tags"]["name"] for p in result.points_of("http_reqs")]
    assert names.count("batched-post") == 2


COOKIE_RESET = """
from greenws import check, http, vu

options = {{"iterations": 2, "vus": 1{extra}}}
BASE = "{base}"

def default():
    if vu.iteration == 0:
        http.get(BASE + "/set-cookie?flavour=oat")
    else:
        res = http.get(BASE + "/echo")
        check(res, {{"cookies": lambda r: r.json("cookies") == {expected}}})
"""


def test_the_jar_is_emptied_each_iteration_unless_no_cookies_reset(
    tmp_path: Path, http_app: str
) -> None:
    reset = run_greenws(tmp_path, COOKIE_RESET.format(base=http_app, extra="", expected="{}"))
    assert reset.returncode == 0 and checks_of(reset) == {"cookies": (1, 0)}, reset.stderr
    kept = run_greenws(
        tmp_path,
        COOKIE_RESET.format(
            base=http_app, extra=', "noCookiesReset": True', expected='{"flavour": "oat"}'
        ),
    )
    assert kept.returncode == 0 and checks_of(kept) == {"cookies": (1, 0)}, kept.stderr


def test_a_breached_http_threshold_exits_99(tmp_path: Path, http_app: str) -> None:
    script = f"""
from greenws import http

options = {{"iterations": 2, "thresholds": {{"http_req_failed": ["rate<0.1"], "http_reqs{{status:500}}": ["count<1"]}}}}

def default():
    http.get("{http_app}/status/500")
"""
    result = run_greenws(tmp_path, script)
    assert result.returncode == 99, result.stderr[-2000:]
    thresholds = {
        name: metric["thresholds"]
        for name, metric in result.summary["metrics"].items()
        if "thresholds" in metric
    }
    assert thresholds == {
        "http_req_failed": {"rate<0.1": True},
        "http_reqs{status:500}": {"count<1": True},
    }  # k6's export: True means the threshold failed


def test_requests_leave_from_the_vus_local_ips_address(tmp_path: Path, http_app: str) -> None:
    """k6's ``localIPs`` applies to HTTP as to sockets: VU n binds to the pool's address n-1."""
    script = f"""
import json, os
from greenws import http, vu

options = {{"scenarios": {{"each": {{"executor": "per-vu-iterations", "vus": 2, "iterations": 2}}}}}}

def default():
    remote = http.get("{http_app}/echo").json("remote")
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps([vu.id, remote]) + "\\n")
"""
    out = tmp_path / "remotes.json"
    env = {"OUT": str(out)}
    result = run_greenws(
        tmp_path,
        script,
        "--vus",
        "2",
        "--iterations",
        "4",
        "--local-ips",
        "127.0.0.2-127.0.0.3",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    seen = {tuple(json.loads(line)) for line in out.read_text().splitlines()}
    assert seen == {(1, "127.0.0.2"), (2, "127.0.0.3")}
